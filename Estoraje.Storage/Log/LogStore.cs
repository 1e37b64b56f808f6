using System.Buffers;
using System.Diagnostics;

namespace Estoraje.Storage.Log;

/// <summary>
/// The durable store (<c>--storage log</c>): every write is a record appended to a segment file, an
/// in-memory key directory says where each key's latest record lies, and values are read from disk unless
/// the S3-FIFO hot-value cache holds them. Sharded as <see cref="Memory.MemoryStore"/> (64 shards, one lock
/// each, <see cref="KeyLock"/> masks), so command code runs unchanged on either store; the shard of a key is
/// the top bits of its cluster slot, so every per-slot counter and listing lives under a single shard lock.
/// <para>
/// Every write gets a version from a <see cref="HybridClock"/>; deletes and expiries leave tombstones (for
/// <see cref="TombstoneGrace"/>) so that <see cref="Apply"/> never resurrects a key with an older record.
/// </para>
/// <para>Create with <see cref="Open"/>, or construct and call <see cref="Recover"/> (the server does so in
/// the background while it answers <c>-LOADING</c>).</para>
/// </summary>
public sealed partial class LogStore : IKeyValueStore, ISlotIndex
{
    private const int ShardBits = 6;
    private const int ShardCount = 1 << ShardBits;
    private const int SlotShift = 14 - ShardBits;
    private const long MaxSegmentSize = 1L << 30;

    private readonly LogStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly HybridClock _clock;
    private readonly Lock[] _locks = new Lock[ShardCount];
    private readonly KeyDirectory[] _tables = new KeyDirectory[ShardCount];
    private readonly S3FifoCache[] _caches = new S3FifoCache[ShardCount];
    private readonly ulong[] _purgeCursors = new ulong[ShardCount];

    // Guarded by the lock of the slot's shard (all keys of a slot share one shard).
    private readonly int[] _slotCounts = new int[KeySlots.Count];
    private readonly ulong[] _slotDigests = new ulong[KeySlots.Count];
    private readonly long _epochMs;
    private LogWriter? _writer;
    private FileStream? _lockFile;
    private long _liveKeyBytes;
    private long _tombstoneBytes;
    private long _expiredTotal;
    private long _diskReads;
    private long _corruptReads;
    private long _purgedTombstones;

    /// <summary>Creates a store over <paramref name="options"/>'s directory; nothing is read until <see cref="Recover"/>.</summary>
    public LogStore(LogStoreOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.SegmentSize is <= 0 or > MaxSegmentSize)
            throw new ArgumentOutOfRangeException(nameof(options), "SegmentSize must be between 1 byte and 1 GB.");
        _options = options;
        _time = time ?? TimeProvider.System;
        _clock = new HybridClock(_time);
        _epochMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var perShard = options.CacheBytes / ShardCount;
        for (var i = 0; i < ShardCount; i++)
        {
            _locks[i] = new Lock();
            _tables[i] = new KeyDirectory();
            var shard = i;
            _caches[i] = new S3FifoCache(perShard, node => OnEvicted(shard, node));
        }
    }

    /// <summary>Opens (recovers) the store in <paramref name="options"/>'s directory.</summary>
    public static LogStore Open(LogStoreOptions options, TimeProvider? time = null)
    {
        var store = new LogStore(options, time);
        try
        {
            store.Recover();
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>Settings the store was created with.</summary>
    public LogStoreOptions Options => _options;

    /// <summary>How long tombstones are kept.</summary>
    public TimeSpan TombstoneGrace => _options.TombstoneGrace;

    /// <summary>What the last <see cref="Recover"/> found, damage included; null before it ran.</summary>
    public RecoveryReport? Recovery { get; private set; }

    /// <summary>Whether <see cref="Recover"/> has completed.</summary>
    public bool IsOpen => Volatile.Read(ref _writer) is not null;

    /// <inheritdoc />
    public long Count => SumTables(static t => t.Count);

    /// <inheritdoc />
    public long ExpiringCount => SumTables(static t => t.ExpiringCount);

    /// <summary>Tombstones held (deleted or expired keys within their grace period).</summary>
    public long TombstoneCount => SumTables(static t => t.TombstoneCount);

    /// <inheritdoc />
    public long ExpiredTotal => Interlocked.Read(ref _expiredTotal);

    /// <summary>Key directory bytes of live keys plus the hot-value cache; tombstones are in <see cref="TombstoneBytes"/>.</summary>
    public long UsedBytes => Interlocked.Read(ref _liveKeyBytes) + CacheBytes;

    /// <summary>Key directory bytes held by tombstones.</summary>
    public long TombstoneBytes => Interlocked.Read(ref _tombstoneBytes);

    /// <summary>
    /// Bytes of bookkeeping per key in the key directory, beyond the key itself, its tables full (a key under 128
    /// bytes; see <see cref="KeyDirectoryBytes"/> for what the directory holds now).
    /// </summary>
    public static int OverheadPerKey => KeyDirectory.OverheadPerKey;

    /// <summary>
    /// Bytes the key directory holds now, keys included: its entry pages, buckets, expiring lists and key arenas,
    /// growth slack and tombstones included (not the cache's slots: <see cref="CacheBytes"/> counts them). Read
    /// without the shard locks.
    /// </summary>
    public long KeyDirectoryBytes => SumTables(static t => t.AllocatedBytes);

    /// <summary>Bytes held by the hot-value cache.</summary>
    public long CacheBytes
    {
        get
        {
            long n = 0;
            foreach (var c in _caches)
                n += c.LiveBytes;
            return n;
        }
    }

    /// <summary>Reads served by the hot-value cache.</summary>
    public long CacheHits => Sum(static c => c.Hits);

    /// <summary>Reads that went to disk.</summary>
    public long CacheMisses => Sum(static c => c.Misses);

    /// <summary>Records read from disk.</summary>
    public long DiskReads => Interlocked.Read(ref _diskReads);

    /// <summary>Reads that found a damaged record (the key then reads as missing).</summary>
    public long CorruptReads => Interlocked.Read(ref _corruptReads);

    /// <summary>fsyncs since open (group commit makes this much lower than the writes under <c>always</c>).</summary>
    public long FsyncCount => _writer?.FsyncCount ?? 0;

    /// <summary>Bytes appended to the log since open.</summary>
    public long AppendedBytes => _writer?.AppendedPosition ?? 0;

    /// <summary>Bytes appended since open that are known to be on disk (fsync'd).</summary>
    public long SyncedBytes => _writer?.SyncedPosition ?? 0;

    /// <summary>Segment files held.</summary>
    public int SegmentCount => _writer?.Segments().Count ?? 0;

    /// <summary>Completes with whether the writer's zero-filled spare segment is ready (tests).</summary>
    internal Task<bool> SpareReady => Writer.SpareReady;

    /// <summary>Bytes of all segment files, and how many of them are records no key needs any more.</summary>
    public (long Total, long Dead) DiskBytes()
    {
        long total = 0, dead = 0;
        if (_writer is null)
            return (0, 0);
        foreach (var s in _writer.Segments())
        {
            total += s.Length;
            dead += s.DeadBytes;
        }

        return (total, dead);
    }

    /// <summary>The version clock of this store.</summary>
    public HybridClock Clock => _clock;

    /// <inheritdoc />
    public long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <inheritdoc />
    public ulong ShardMask(ReadOnlySpan<byte> key) => 1UL << (KeySlots.Of(key) >> SlotShift);

    /// <inheritdoc />
    public KeyLock Lock(ReadOnlySpan<byte> key) => new(_locks, ShardMask(key));

    /// <inheritdoc />
    public KeyLock Lock(ulong shardMask) => new(_locks, shardMask);

    /// <inheritdoc />
    public bool TryGet(ReadOnlySpan<byte> key, out StoredValue value, bool touch = true)
    {
        var (shard, _, hash) = Locate(key);
        var table = _tables[shard];
        lock (_locks[shard])
        {
            var now = Now;
            var i = FindLive(shard, key, hash, now);
            if (i >= 0)
            {
                var seconds = Seconds(now);
                if (touch)
                    table[i].Touch(seconds);
                var bytes = ReadValue(shard, i);
                if (bytes is not null)
                {
                    ref var e = ref table[i];
                    var lastAccess = _epochMs + (seconds - e.IdleSeconds(seconds)) * 1000L;
                    value = new StoredValue(e.Kind, bytes, e.Length, e.ExpiresAt, lastAccess, e.Version);
                    return true;
                }
            }

            value = default;
            return false;
        }
    }

    /// <inheritdoc />
    public bool Exists(ReadOnlySpan<byte> key)
    {
        var (shard, _, hash) = Locate(key);
        lock (_locks[shard])
        {
            var now = Now;
            var i = FindLive(shard, key, hash, now);
            if (i < 0)
                return false;
            _tables[shard][i].Touch(Seconds(now));
            return true;
        }
    }

    /// <inheritdoc />
    public void SetValue(ReadOnlySpan<byte> key, ValueKind kind, byte[] value, int length, long expiresAt)
    {
        ArgumentOutOfRangeException.ThrowIfEqual(kind, ValueKind.None);
        var (shard, slot, hash) = Locate(key);
        lock (_locks[shard])
            WriteValue(shard, slot, hash, key, value, length, expiresAt, kind, _clock.Next());
    }

    /// <inheritdoc />
    public int Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> tail)
    {
        var (shard, slot, hash) = Locate(key);
        lock (_locks[shard])
        {
            var i = FindLive(shard, key, hash, Now);
            var current = i >= 0 ? ReadValue(shard, i) : null;
            if (current is null)
            {
                WriteValue(shard, slot, hash, key, tail.ToArray(), tail.Length, 0, ValueKind.String, _clock.Next());
                return tail.Length;
            }

            // Values are never changed in place (snapshots and the cache share arrays): a new array each time.
            ref var e = ref _tables[shard][i];
            var length = checked(e.Length + tail.Length);
            var grown = new byte[length];
            current.AsSpan(0, e.Length).CopyTo(grown);
            tail.CopyTo(grown.AsSpan(e.Length));
            WriteValue(shard, slot, hash, key, grown, length, e.ExpiresAt, e.Kind, _clock.Next());
            return length;
        }
    }

    /// <inheritdoc />
    public bool Remove(ReadOnlySpan<byte> key)
    {
        var (shard, _, hash) = Locate(key);
        lock (_locks[shard])
        {
            var i = FindLive(shard, key, hash, Now);
            if (i < 0)
                return false;
            WriteTombstone(shard, i, _clock.Next());
            return true;
        }
    }

    /// <inheritdoc />
    public bool SetExpiry(ReadOnlySpan<byte> key, long expiresAt)
    {
        var (shard, slot, hash) = Locate(key);
        lock (_locks[shard])
        {
            var i = FindLive(shard, key, hash, Now);
            if (i < 0)
                return false;
            // A record carries its value: a new expiry is a new record of the same value.
            var value = ReadValue(shard, i);
            if (value is null)
                return false;
            ref var e = ref _tables[shard][i];
            WriteValue(shard, slot, hash, key, value, e.Length, expiresAt, e.Kind, _clock.Next());
            return true;
        }
    }

    /// <inheritdoc />
    public void Clear()
    {
        // A compaction running meanwhile is not waited for (the caller may hold shard locks it needs): the
        // segments it reads or writes vanish under it and it gives up, and whatever it copied before is
        // older than the flush marker, which recovery applies by version.
        using (Lock(ulong.MaxValue))
        {
            var writer = Writer;
            var version = _clock.Next();
            // The marker is on disk before the files it makes useless go: if deleting them is cut short by a
            // crash, recovery still drops whatever they hold.
            var older = writer.StartOver(version);
            _flushVersion = version;
            foreach (var segment in older)
                writer.Delete(segment);

            for (var i = 0; i < ShardCount; i++)
            {
                _tables[i].Clear();
                _caches[i].Clear();
            }

            Array.Clear(_slotCounts);
            Array.Clear(_slotDigests);
            Interlocked.Exchange(ref _liveKeyBytes, 0);
            Interlocked.Exchange(ref _tombstoneBytes, 0);
        }
    }

    /// <inheritdoc />
    public ulong Scan(ulong cursor, int count, List<byte[]> keys) => ShardedScan.Scan(_locks, _tables, ShardBits, cursor, count, keys);

    /// <inheritdoc />
    public byte[]? RandomKey()
    {
        // Like Redis, draw until a live key turns up: every expired key drawn is reclaimed, so this ends.
        while (true)
        {
            var start = Random.Shared.Next(ShardCount);
            for (var n = 0; n < ShardCount; n++)
            {
                var shard = (start + n) & (ShardCount - 1);
                var table = _tables[shard];
                if (table.Count == 0)
                    continue;
                lock (_locks[shard])
                {
                    var i = table.RandomEntry(Random.Shared);
                    if (i < 0)
                        continue;
                    if (IsExpired(table[i].ExpiresAt, Now))
                    {
                        Expire(shard, i);
                        break;
                    }

                    return table.KeyArray(i);
                }
            }

            if (Count == 0)
                return null;
        }
    }

    /// <inheritdoc />
    public int ExpireCycle(TimeSpan budget)
    {
        if (!IsOpen)
            return 0;
        var started = Stopwatch.GetTimestamp();
        var reclaimed = ShardedScan.ExpireCycle(_locks, _tables, budget, () => Now, (shard, i, now) =>
        {
            if (!IsExpired(_tables[shard][i].ExpiresAt, now))
                return false;
            Expire(shard, i);
            return true;
        });
        // Tombstones are purged only in a cycle the sampling left time for.
        if (Stopwatch.GetElapsedTime(started) > budget)
            return reclaimed;

        PurgeTombstones(bucketsPerShard: 16);
        return reclaimed;
    }

    /// <inheritdoc />
    public bool TryGetVersion(ReadOnlySpan<byte> key, out long version)
    {
        var (shard, _, hash) = Locate(key);
        lock (_locks[shard])
        {
            // Reclaims an expired key first: its version stays, as a tombstone's.
            FindLive(shard, key, hash, Now);
            var i = _tables[shard].Find(key, hash);
            version = i < 0 ? 0 : _tables[shard][i].Version;
            return i >= 0;
        }
    }

    /// <inheritdoc />
    public long RemovedVersion(ReadOnlySpan<byte> key) => Volatile.Read(ref _flushVersion);

    /// <inheritdoc />
    public bool Apply(in StoreRecord record)
    {
        var key = record.Key;
        var (shard, slot, hash) = Locate(key);
        lock (_locks[shard])
        {
            var table = _tables[shard];
            var i = table.Find(key, hash);
            // FLUSHALL deleted every key at its version: older records stay deleted, as behind a tombstone.
            if ((i >= 0 && table[i].Version >= record.Version) || record.Version <= Volatile.Read(ref _flushVersion))
                return false;
            _clock.Observe(record.Version);
            if (!record.IsTombstone)
            {
                WriteValue(shard, slot, hash, key, record.Value!, record.Length, record.ExpiresAt, record.Kind, record.Version);
                return true;
            }

            if (i < 0)
            {
                // A delete of a key never seen here still needs its tombstone, against an older value arriving later.
                i = table.Add(key, hash, (ushort)slot);
                table.MarkTombstone(i);
                table[i].Version = 0;
                Interlocked.Add(ref _tombstoneBytes, KeyDirectory.BytesFor(key.Length));
                var (segment, offset) = Writer.Append(record.Version, 0, ValueKind.None, RecordFlags.Tombstone, key, default);
                SetLocation(table, i, segment.Id, offset, 0, record.Version);
                _slotDigests[slot] += StableHash.KeyVersion(key, record.Version);
                return true;
            }

            if (table[i].Tombstone)
            {
                var (segment, offset) = Writer.Append(record.Version, 0, ValueKind.None, RecordFlags.Tombstone, key, default);
                Forget(table, i);
                table[i].ExpiresAt = 0;
                SetLocation(table, i, segment.Id, offset, 0, record.Version);
                _slotDigests[slot] += StableHash.KeyVersion(key, record.Version);
                return true;
            }

            WriteTombstone(shard, i, record.Version);
            return true;
        }
    }

    /// <inheritdoc />
    public ValueTask CommitAsync() => _writer?.CommitAsync() ?? ValueTask.CompletedTask;

    /// <inheritdoc />
    public void Commit() => _writer?.Commit();

    /// <inheritdoc />
    public bool HasUncommittedWrites => _writer?.HasUncommitted ?? false;

    /// <inheritdoc />
    /// <remarks>Reads the tables without their locks (see <see cref="ChainedTable{TEntry}.PrefetchBucket"/>).</remarks>
    public void Prefetch(ReadOnlySpan<byte> data, ReadOnlySpan<Range> keys)
    {
        const int Max = 32;
        var n = Math.Min(keys.Length, Max);
        Span<int> shards = stackalloc int[n];
        Span<int> hashes = stackalloc int[n];
        Span<int> found = stackalloc int[n];
        for (var k = 0; k < n; k++)
        {
            var (shard, _, hash) = Locate(data[keys[k]]);
            (shards[k], hashes[k]) = (shard, hash);
            _tables[shard].PrefetchBucket(hash);
        }

        for (var k = 0; k < n; k++)
            found[k] = _tables[shards[k]].PrefetchHead(hashes[k]);
        for (var k = 0; k < n; k++)
            found[k] = found[k] < 0 ? 0 : _tables[shards[k]].PrefetchKeyAndSlot(found[k], hashes[k]);
        for (var k = 0; k < n; k++)
        {
            if (found[k] > 0)
                _tables[shards[k]].PrefetchCached(found[k]);
        }
    }

    /// <inheritdoc />
    public SlotDigest GetSlotDigest(int slot)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, KeySlots.Count);
        lock (_locks[slot >> SlotShift])
            return new SlotDigest(_slotCounts[slot], _slotDigests[slot]);
    }

    /// <inheritdoc />
    public ulong ScanSlot(int slot, ulong cursor, int count, List<SlotEntry> entries)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, KeySlots.Count);
        var shard = slot >> SlotShift;
        var table = _tables[shard];
        var wanted = entries.Count + Math.Max(1, count);
        var steps = Math.Max(1, count) * 10;
        lock (_locks[shard])
        {
            do
            {
                cursor = table.ScanSlotBucket(cursor, (ushort)slot, entries);
            }
            while (cursor != 0 && --steps > 0 && entries.Count < wanted);
        }

        return cursor;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _cancelCompaction = true;
        lock (_compactionLock)
        {
            DisposeLocked();
        }
    }

    private void DisposeLocked()
    {
        var writer = Interlocked.Exchange(ref _writer, null);
        writer?.Dispose();
        _lockFile?.Dispose();
        _lockFile = null;
    }

    /// <inheritdoc />
    public string? WriteError => _writer?.Failure?.Message;

    private LogWriter Writer => _writer ?? throw new InvalidOperationException("The log store is not open: call Recover first.");

    // Statistics read without the shard locks (a torn total is fine for INFO), so that INFO answers while
    // recovery holds every lock.
    private long Sum(Func<S3FifoCache, long> field)
    {
        long n = 0;
        foreach (var cache in _caches)
            n += field(cache);
        return n;
    }

    private long SumTables(Func<KeyDirectory, long> field)
    {
        long n = 0;
        foreach (var table in _tables)
            n += field(table);
        return n;
    }

    private static (int Shard, int Slot, int Hash) Locate(ReadOnlySpan<byte> key)
    {
        var slot = KeySlots.Of(key);
        return (slot >> SlotShift, slot, Hash(key));
    }

    private int Seconds(long nowMs) => (int)Math.Clamp((nowMs - _epochMs) / 1000, int.MinValue, int.MaxValue);

    // As Redis's keyIsExpired: a key lives through its expiry millisecond and is gone after it.
    private static bool IsExpired(long expiresAt, long now) => expiresAt != 0 && now > expiresAt;

    // Index of the live entry of a key, or -1; an expired key found on the way becomes a tombstone.
    private int FindLive(int shard, ReadOnlySpan<byte> key, int hash, long now)
    {
        var table = _tables[shard];
        var i = table.Find(key, hash);
        if (i < 0 || table[i].Tombstone)
            return -1;
        if (IsExpired(table[i].ExpiresAt, now))
        {
            Expire(shard, i);
            return -1;
        }

        return i;
    }

    // An expired key keeps its version and record as a tombstone: replicas expire it too, so the slot
    // digest does not change, and an older record of the key cannot come back.
    private void Expire(int shard, int i)
    {
        var table = _tables[shard];
        ref var e = ref table[i];
        if (table.CachedAt(i) is { } cached)
            _caches[shard].Drop(cached);
        var expiresAt = e.ExpiresAt;
        table.MarkTombstone(i);
        e.ExpiresAt = expiresAt;
        _slotCounts[e.Slot]--;
        MoveToTombstoneBytes(table.KeyOf(i).Length);
        Interlocked.Increment(ref _expiredTotal);
    }

    private void WriteValue(int shard, int slot, int hash, ReadOnlySpan<byte> key, byte[] value, int length, long expiresAt,
        ValueKind kind, long version)
    {
        var (segment, offset) = Writer.Append(version, expiresAt, kind, RecordFlags.None, key, value.AsSpan(0, length));
        var table = _tables[shard];
        var i = table.Find(key, hash);
        CacheNode? previous = null;
        if (i < 0)
        {
            i = table.Add(key, hash, (ushort)slot);
            Interlocked.Add(ref _liveKeyBytes, KeyDirectory.BytesFor(key.Length));
            _slotCounts[slot]++;
        }
        else
        {
            Forget(table, i);
            previous = table.CachedAt(i);
            if (table[i].Tombstone)
            {
                table.Revive(i);
                _slotCounts[slot]++;
                Interlocked.Add(ref _tombstoneBytes, -KeyDirectory.BytesFor(key.Length));
                Interlocked.Add(ref _liveKeyBytes, KeyDirectory.BytesFor(key.Length));
            }
        }

        ref var e = ref table[i];
        e.Kind = kind;
        e.Touch(Seconds(Now));
        SetLocation(table, i, segment.Id, offset, length, version);
        table.SetExpiry(i, expiresAt);
        _slotDigests[slot] += StableHash.KeyVersion(key, version);

        // A value just written is likely read soon, and the store owns the array: cache it. A key already cached
        // keeps its node (the entry's link to it stays, so an eviction on the way is reported to the entry).
        var cache = _caches[shard];
        if (previous is { Value: not null })
        {
            if (cache.Replace(previous, value))
                table.RefreshCached(i);
            else
                table.SetCached(i, null);
            return;
        }

        table.SetCached(i, null);
        var node = cache.Insert(hash, value, previous);
        table.SetCached(i, node?.Value is null ? null : node);
    }

    private void WriteTombstone(int shard, int i, long version)
    {
        var table = _tables[shard];
        var (segment, offset) = Writer.Append(version, 0, ValueKind.None, RecordFlags.Tombstone, table.KeyOf(i), default);
        Forget(table, i);
        if (table.CachedAt(i) is { } cached)
            _caches[shard].Drop(cached);
        table.MarkTombstone(i);
        ref var e = ref table[i];
        _slotCounts[e.Slot]--;
        MoveToTombstoneBytes(table.KeyOf(i).Length);
        SetLocation(table, i, segment.Id, offset, 0, version);
        _slotDigests[e.Slot] += StableHash.KeyVersion(table.KeyOf(i), version);
    }

    private static void SetLocation(KeyDirectory table, int i, int segment, int offset, int length, long version)
    {
        ref var e = ref table[i];
        e.Segment = segment;
        e.Offset = offset;
        e.Length = length;
        e.Version = version;
    }

    // The entry's current record is superseded: its bytes are dead and its pair leaves the slot digest.
    private void Forget(KeyDirectory table, int i)
    {
        ref var e = ref table[i];
        if (e.Version == 0)
            return;
        SegmentOf(e.Segment)?.AddDead(table.RecordSize(i));
        _slotDigests[e.Slot] -= StableHash.KeyVersion(table.KeyOf(i), e.Version);
    }

    private void MoveToTombstoneBytes(int keyLength)
    {
        Interlocked.Add(ref _liveKeyBytes, -KeyDirectory.BytesFor(keyLength));
        Interlocked.Add(ref _tombstoneBytes, KeyDirectory.BytesFor(keyLength));
    }

    // The value of a live entry: from the cache, else from its record on disk (then cached).
    private byte[]? ReadValue(int shard, int i)
    {
        var table = _tables[shard];
        ref var e = ref table[i];
        var cache = _caches[shard];
        if (table.CachedValueAt(i, out var hit) is { } cached)
        {
            S3FifoCache.Touch(hit!);
            cache.Hits++;
            return cached;
        }

        cache.Misses++;
        var value = ReadRecordValue(e.Segment, e.Offset, table.KeyOf(i).Length, e.Length, e.Version);
        if (value is null)
            return null;
        var node = cache.Insert(e.Hash, value, null);
        table.SetCached(i, node?.Value is null ? null : node);
        return value;
    }

    private byte[]? ReadRecordValue(int segmentId, int offset, int keyLength, int valueLength, long version)
    {
        var writer = Writer;
        var segment = writer.Get(segmentId);
        var size = (int)RecordFormat.RecordSize(keyLength, valueLength);
        if (segment is not null)
        {
            writer.EnsureReadable(segment, (long)offset + size);
            var buffer = ArrayPool<byte>.Shared.Rent(size);
            try
            {
                var record = buffer.AsSpan(0, size);
                Interlocked.Increment(ref _diskReads);
                if (segment.TryRead(offset, record) && RecordFormat.IsIntact(record) &&
                    RecordFormat.TryReadHeader(record, out var header) && header.Version == version)
                {
                    return record.Slice(RecordFormat.HeaderSize + keyLength, valueLength).ToArray();
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        // Damage after recovery (a disk error, a file changed under us): the key reads as missing and is
        // reported; a replica's copy repairs it through slot sync.
        if (Interlocked.Increment(ref _corruptReads) <= 100)
            _options.Log?.Invoke(StoreEvent.Damage, $"Damaged record: segment {segmentId} offset {offset} ({size} bytes); the key reads as missing.");
        return null;
    }

    private void OnEvicted(int shard, CacheNode node) => _tables[shard].Uncache(node);

    // Drops tombstones past their grace period, a few buckets per shard per call.
    private void PurgeTombstones(int bucketsPerShard)
    {
        var cutoff = Now - (long)_options.TombstoneGrace.TotalMilliseconds;
        var keys = new List<byte[]>();
        for (var shard = 0; shard < ShardCount; shard++)
        {
            var table = _tables[shard];
            if (table.TombstoneCount == 0)
                continue;
            lock (_locks[shard])
            {
                keys.Clear();
                var cursor = _purgeCursors[shard];
                for (var b = 0; b < bucketsPerShard; b++)
                {
                    cursor = table.CollectStaleTombstones(cursor, cutoff, keys);
                    if (cursor == 0)
                        break;
                }

                _purgeCursors[shard] = cursor;
                foreach (var key in keys)
                {
                    var i = table.Find(key, Hash(key));
                    if (i < 0)
                        continue;
                    // The tombstone's record must outlive its entry while an older record of the key remains.
                    SegmentOf(table[i].Segment)?.MarkUnlisted();
                    Forget(table, i);
                    Interlocked.Add(ref _tombstoneBytes, -KeyDirectory.BytesFor(key.Length));
                    table.RemoveAt(i);
                    Interlocked.Increment(ref _purgedTombstones);
                }
            }
        }
    }

    private static int Hash(ReadOnlySpan<byte> key) => KeyDirectory.Hash(key);
}

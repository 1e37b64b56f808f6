using System.Diagnostics;

namespace Estoraje.Storage.Memory;

/// <summary>
/// The in-memory store (<c>--storage memory</c>, like Redis with persistence off): 64 shards, each a
/// <see cref="KeyTable"/> behind its own lock, chosen by the top bits of a per-process randomized hash.
/// Live keys carry versions as the log store's do; a deleted key's version is forgotten (no tombstones), so
/// <see cref="Apply"/> can bring back a key deleted here by applying an older record.
/// </summary>
public sealed class MemoryStore : IKeyValueStore
{
    private const int ShardBits = 6;
    private const int ShardCount = 1 << ShardBits;

    // Per-key bookkeeping beyond the key and value bytes: the entry, its bucket, two array headers.
    private const int EntryOverhead = 64 + 8 + 2 * 24;

    private readonly TimeProvider _time;
    private readonly HybridClock _clock;

    /// <inheritdoc />
    public HybridClock Clock => _clock;
    private readonly Lock[] _locks = new Lock[ShardCount];
    private readonly KeyTable[] _tables = new KeyTable[ShardCount];
    private long _expiredTotal;
    private long _flushVersion;

    /// <summary>Creates an empty store on <paramref name="time"/> (the system clock when null).</summary>
    public MemoryStore(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _clock = new HybridClock(_time);
        for (var i = 0; i < ShardCount; i++)
        {
            _locks[i] = new Lock();
            _tables[i] = new KeyTable();
        }
    }

    /// <inheritdoc />
    public long Count
    {
        get
        {
            long n = 0;
            foreach (var t in _tables)
                n += t.Count;
            return n;
        }
    }

    /// <inheritdoc />
    public long ExpiringCount
    {
        get
        {
            long n = 0;
            foreach (var t in _tables)
                n += t.ExpiringCount;
            return n;
        }
    }

    /// <inheritdoc />
    public long ExpiredTotal => Interlocked.Read(ref _expiredTotal);

    /// <inheritdoc />
    public long UsedBytes
    {
        get
        {
            long n = 0;
            foreach (var t in _tables)
                n += t.UsedBytes;
            return n;
        }
    }

    /// <inheritdoc />
    public long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <inheritdoc />
    public ulong ShardMask(ReadOnlySpan<byte> key) => 1UL << ShardOf(Hash(key));

    /// <inheritdoc />
    public KeyLock Lock(ReadOnlySpan<byte> key) => new(_locks, ShardMask(key));

    /// <inheritdoc />
    public KeyLock Lock(ulong shardMask) => new(_locks, shardMask);

    /// <inheritdoc />
    public bool TryGet(ReadOnlySpan<byte> key, out StoredValue value, bool touch = true)
    {
        var hash = Hash(key);
        var shard = ShardOf(hash);
        var table = _tables[shard];
        lock (_locks[shard])
        {
            var now = Now;
            var i = FindLive(table, key, hash, now);
            if (i < 0)
            {
                value = default;
                return false;
            }

            ref var e = ref table[i];
            if (touch)
                e.LastAccess = now;
            value = new StoredValue(e.Kind, e.Value!, e.Length, e.ExpiresAt, e.LastAccess, e.Version);
            return true;
        }
    }

    /// <inheritdoc />
    public bool Exists(ReadOnlySpan<byte> key) => TryGet(key, out _, touch: true);

    /// <inheritdoc />
    public void SetValue(ReadOnlySpan<byte> key, ValueKind kind, byte[] value, int length, long expiresAt)
    {
        ArgumentOutOfRangeException.ThrowIfEqual(kind, ValueKind.None);
        Store(key, value, length, expiresAt, kind, _clock.Next());
    }

    private void Store(ReadOnlySpan<byte> key, byte[] value, int length, long expiresAt, ValueKind kind, long version)
    {
        var hash = Hash(key);
        var shard = ShardOf(hash);
        var table = _tables[shard];
        lock (_locks[shard])
        {
            var i = table.Find(key, hash);
            long delta;
            if (i < 0)
            {
                i = table.Add(key.ToArray(), hash);
                delta = key.Length + EntryOverhead + value.Length;
            }
            else
            {
                delta = value.Length - Capacity(table[i].Value);
            }

            ref var e = ref table[i];
            e.Kind = kind;
            e.Value = value;
            e.Length = length;
            e.Version = version;
            table.MaxVersion = Math.Max(table.MaxVersion, version);
            e.LastAccess = Now;
            table.SetExpiry(i, expiresAt);
            table.UsedBytes += delta;
        }
    }

    /// <inheritdoc />
    public int Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> tail)
    {
        var hash = Hash(key);
        var shard = ShardOf(hash);
        var table = _tables[shard];
        lock (_locks[shard])
        {
            var now = Now;
            var i = FindLive(table, key, hash, now);
            if (i < 0)
            {
                Store(key, tail.ToArray(), tail.Length, 0, ValueKind.String, _clock.Next());
                return tail.Length;
            }

            ref var e = ref table[i];
            var current = (byte[])e.Value!;
            var length = checked(e.Length + tail.Length);
            if (length > current.Length)
            {
                // Grow geometrically so repeated APPENDs cost amortized O(1) per byte, as in Redis (sdsMakeRoomFor).
                var grown = new byte[length < 1024 * 1024 ? length * 2 : length + 1024 * 1024];
                current.AsSpan(0, e.Length).CopyTo(grown);
                table.UsedBytes += grown.Length - current.Length;
                current = grown;
                e.Value = grown;
            }

            // Bytes past the old length are invisible to earlier snapshots, so this write needs no copy.
            tail.CopyTo(current.AsSpan(e.Length));
            e.Length = length;
            e.LastAccess = now;
            e.Version = _clock.Next();
            table.MaxVersion = Math.Max(table.MaxVersion, e.Version);
            return length;
        }
    }

    /// <inheritdoc />
    public bool Remove(ReadOnlySpan<byte> key)
    {
        var hash = Hash(key);
        var shard = ShardOf(hash);
        var table = _tables[shard];
        lock (_locks[shard])
        {
            var i = FindLive(table, key, hash, Now);
            if (i < 0)
                return false;
            RemoveEntry(table, i);
            return true;
        }
    }

    /// <inheritdoc />
    public bool SetExpiry(ReadOnlySpan<byte> key, long expiresAt)
    {
        var hash = Hash(key);
        var shard = ShardOf(hash);
        var table = _tables[shard];
        lock (_locks[shard])
        {
            var i = FindLive(table, key, hash, Now);
            if (i < 0)
                return false;
            table.SetExpiry(i, expiresAt);
            table[i].Version = _clock.Next();
            table.MaxVersion = Math.Max(table.MaxVersion, table[i].Version);
            return true;
        }
    }

    /// <inheritdoc />
    public void Clear()
    {
        using (Lock(ulong.MaxValue))
        {
            foreach (var t in _tables)
            {
                if (t.Count > 0)
                    t.RemovedVersion = Math.Max(t.RemovedVersion, t.MaxVersion);
                t.Clear();
            }

            Volatile.Write(ref _flushVersion, _clock.Next());
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
                    ref var e = ref table[i];
                    if (IsExpired(e.ExpiresAt, Now))
                    {
                        RemoveEntry(table, i);
                        Interlocked.Increment(ref _expiredTotal);
                        break;
                    }

                    return e.Key;
                }
            }

            if (Count == 0)
                return null;
        }
    }

    /// <inheritdoc />
    public int ExpireCycle(TimeSpan budget)
    {
        var reclaimed = ShardedScan.ExpireCycle(_locks, _tables, budget, () => Now, (shard, i, now) =>
        {
            var table = _tables[shard];
            if (!IsExpired(table[i].ExpiresAt, now))
                return false;
            RemoveEntry(table, i);
            return true;
        });
        Interlocked.Add(ref _expiredTotal, reclaimed);
        return reclaimed;
    }

    /// <inheritdoc />
    public bool TryGetVersion(ReadOnlySpan<byte> key, out long version)
    {
        var hash = Hash(key);
        var shard = ShardOf(hash);
        var table = _tables[shard];
        lock (_locks[shard])
        {
            var i = FindLive(table, key, hash, Now);
            version = i < 0 ? 0 : table[i].Version;
            return i >= 0;
        }
    }

    /// <inheritdoc />
    public long RemovedVersion(ReadOnlySpan<byte> key)
    {
        var shard = ShardOf(Hash(key));
        lock (_locks[shard])
            return _tables[shard].RemovedVersion;
    }

    /// <inheritdoc />
    public bool Apply(in StoreRecord record)
    {
        var key = record.Key;
        var hash = Hash(key);
        var shard = ShardOf(hash);
        var table = _tables[shard];
        lock (_locks[shard])
        {
            var i = table.Find(key, hash);
            // FLUSHALL deleted every key at its version: older records stay deleted.
            if ((i >= 0 && table[i].Version >= record.Version) || record.Version <= Volatile.Read(ref _flushVersion))
                return false;
            _clock.Observe(record.Version);
            if (record.IsTombstone)
            {
                if (i >= 0)
                    RemoveEntry(table, i);
            }
            else
            {
                Store(key, record.Value!, record.Length, record.ExpiresAt, record.Kind, record.Version);
            }

            return true;
        }
    }

    /// <inheritdoc />
    public ValueTask CommitAsync() => ValueTask.CompletedTask;

    /// <inheritdoc />
    public bool HasUncommittedWrites => false;

    /// <inheritdoc />
    /// <remarks>Not done here: the memory store's keys are objects all over the heap, not a few arrays.</remarks>
    public void Prefetch(ReadOnlySpan<byte> data, ReadOnlySpan<Range> keys)
    {
    }

    /// <inheritdoc />
    public void Commit()
    {
    }

    /// <inheritdoc />
    public bool KeepsTombstones => false;

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private int FindLive(KeyTable table, ReadOnlySpan<byte> key, int hash, long now)
    {
        var i = table.Find(key, hash);
        if (i < 0)
            return -1;
        if (IsExpired(table[i].ExpiresAt, now))
        {
            RemoveEntry(table, i);
            Interlocked.Increment(ref _expiredTotal);
            return -1;
        }

        return i;
    }

    // As Redis's keyIsExpired: a key lives through its expiry millisecond and is gone after it.
    private static bool IsExpired(long expiresAt, long now) => expiresAt != 0 && now > expiresAt;

    private static void RemoveEntry(KeyTable table, int i)
    {
        ref var e = ref table[i];
        table.RemovedVersion = Math.Max(table.RemovedVersion, e.Version);
        table.UsedBytes -= e.Key!.Length + EntryOverhead + Capacity(e.Value);
        table.RemoveAt(i);
    }

    private static int Capacity(object? value) => value is byte[] bytes ? bytes.Length : 0;

    private static int Hash(ReadOnlySpan<byte> key) => KeyHash.Of(key);

    private static int ShardOf(int hash) => (int)((uint)hash >> (32 - ShardBits));
}

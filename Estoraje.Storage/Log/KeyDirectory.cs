using System.Numerics;

namespace Estoraje.Storage.Log;

/// <summary>
/// One shard of the log store's key directory: key → where its latest record lies, its version, expiry and
/// type. Values stay on disk (or in the hot-value cache). Deleted and expired keys stay as tombstones until
/// their grace period ends, so that an older record arriving later (replication, recovery of an older
/// segment) cannot bring them back. Same layout as <see cref="Memory.KeyTable"/> (chained buckets over a flat
/// entry array, reverse-binary SCAN cursors, a dense list of expiring keys). Not thread-safe: its shard's
/// lock guards it.
/// </summary>
internal sealed class KeyDirectory : IBucketScan, IExpirySample
{
    /// <summary>
    /// Bytes of bookkeeping per key beyond the key's own bytes: the 64-byte entry, its bucket (4 bytes at a
    /// load factor of one) and the key array's header (24 bytes). Array growth adds slack on top.
    /// </summary>
    public const int OverheadPerKey = 64 + 4 + 24;

    private const int MinBuckets = 4;

    private int[] _buckets = new int[MinBuckets]; // 1-based entry index, 0 = empty
    private Entry[] _entries = new Entry[MinBuckets];
    private int _used;       // entries ever handed out (live, tombstone or free)
    private int _freeList = -1;
    private int _freeCount;
    private int _tombstones;
    private int[] _expiring = new int[4];
    private int _expiringCount;

    /// <summary>
    /// 64 bytes (checked by a test): four references/longs, seven ints, two bytes and the slot. The last access
    /// time is in seconds from the store's epoch, which is all OBJECT IDLETIME needs.
    /// </summary>
    internal struct Entry
    {
        public byte[]? Key;
        public CacheNode? Cached;
        public long Version;
        public long ExpiresAt;
        public int Hash;
        public int Next;        // next entry index in the bucket chain, -1 = end; in the free list: next free
        public int ExpiryIndex; // position in _expiring, -1 when the key does not expire (tombstones never do)
        public int Segment;
        public int Offset;      // of the record in its segment
        public int Length;      // of the value
        public int LastAccess;  // seconds since the store's epoch
        public ValueKind Kind;
        public bool Tombstone;
        public ushort Slot;

        public readonly long RecordSize => RecordFormat.RecordSize(Key!.Length, Length);
    }

    /// <summary>Live keys (expired ones not yet reclaimed included), tombstones excluded.</summary>
    public int Count => _used - _freeCount - _tombstones;

    public int TombstoneCount => _tombstones;

    public int ExpiringCount => _expiringCount;

    public ref Entry this[int index] => ref _entries[index];

    /// <summary>Entry index of the key, live or tombstone, or -1.</summary>
    public int Find(ReadOnlySpan<byte> key, int hash)
    {
        var i = _buckets[hash & (_buckets.Length - 1)] - 1;
        while (i >= 0)
        {
            ref var e = ref _entries[i];
            if (e.Hash == hash && key.SequenceEqual(e.Key))
                return i;
            i = e.Next;
        }

        return -1;
    }

    /// <summary>Adds a new live key (which must not be present) and returns its entry index.</summary>
    public int Add(byte[] key, int hash, ushort slot)
    {
        var total = _used - _freeCount;
        if (total >= _buckets.Length)
            Rebuild(_buckets.Length * 2);

        int index;
        if (_freeCount > 0)
        {
            index = _freeList;
            _freeList = _entries[index].Next;
            _freeCount--;
        }
        else
        {
            if (_used == _entries.Length)
                Array.Resize(ref _entries, _entries.Length * 2);
            index = _used++;
        }

        ref var e = ref _entries[index];
        e.Key = key;
        e.Hash = hash;
        e.Slot = slot;
        e.ExpiryIndex = -1;
        ref var bucket = ref _buckets[hash & (_buckets.Length - 1)];
        e.Next = bucket - 1;
        bucket = index + 1;
        return index;
    }

    /// <summary>Turns a live entry into a tombstone (it keeps its key, version and record position).</summary>
    public void MarkTombstone(int index)
    {
        ref var e = ref _entries[index];
        if (e.Tombstone)
            return;
        SetExpiry(index, 0);
        e.Tombstone = true;
        e.Cached = null;
        e.Kind = ValueKind.None;
        _tombstones++;
    }

    /// <summary>Turns a tombstone back into a live entry (a newer value arrived).</summary>
    public void Revive(int index)
    {
        ref var e = ref _entries[index];
        if (!e.Tombstone)
            return;
        e.Tombstone = false;
        _tombstones--;
    }

    public void RemoveAt(int index)
    {
        ref var e = ref _entries[index];
        ref var bucket = ref _buckets[e.Hash & (_buckets.Length - 1)];
        var i = bucket - 1;
        var previous = -1;
        while (i != index)
        {
            previous = i;
            i = _entries[i].Next;
        }

        if (previous < 0)
            bucket = e.Next + 1;
        else
            _entries[previous].Next = e.Next;

        SetExpiry(index, 0);
        if (e.Tombstone)
            _tombstones--;
        e = default;
        e.Next = _freeList;
        _freeList = index;
        _freeCount++;

        var total = _used - _freeCount;
        if (_buckets.Length > MinBuckets && total < _buckets.Length / 8)
            Rebuild(Math.Max(MinBuckets, (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, total * 2))));
    }

    public void SetExpiry(int index, long expiresAt)
    {
        ref var e = ref _entries[index];
        e.ExpiresAt = expiresAt;
        if (expiresAt != 0 && e.ExpiryIndex < 0)
        {
            if (_expiringCount == _expiring.Length)
                Array.Resize(ref _expiring, _expiring.Length * 2);
            e.ExpiryIndex = _expiringCount;
            _expiring[_expiringCount++] = index;
        }
        else if (expiresAt == 0 && e.ExpiryIndex >= 0)
        {
            var last = _expiring[--_expiringCount];
            _expiring[e.ExpiryIndex] = last;
            _entries[last].ExpiryIndex = e.ExpiryIndex;
            e.ExpiryIndex = -1;
        }
    }

    /// <summary>Entry index of a random live key that expires, or -1.</summary>
    public int RandomExpiring(Random random) => _expiringCount == 0 ? -1 : _expiring[random.Next(_expiringCount)];

    /// <summary>Entry index of a random live key, or -1 when there is none.</summary>
    public int RandomEntry(Random random)
    {
        if (Count == 0)
            return -1;
        // Live entries are at least 1/8 of the slots unless tombstones crowd them: draw a few times, then walk.
        for (var attempt = 0; attempt < 64; attempt++)
        {
            var i = random.Next(_used);
            if (_entries[i].Key is not null && !_entries[i].Tombstone)
                return i;
        }

        var start = random.Next(_used);
        for (var n = 0; n < _used; n++)
        {
            var i = (start + n) % _used;
            if (_entries[i].Key is not null && !_entries[i].Tombstone)
                return i;
        }

        return -1;
    }

    public void Clear()
    {
        _buckets = new int[MinBuckets];
        _entries = new Entry[MinBuckets];
        _used = 0;
        _freeList = -1;
        _freeCount = 0;
        _tombstones = 0;
        _expiring = new int[4];
        _expiringCount = 0;
    }

    /// <summary>
    /// Visits the bucket at <paramref name="cursor"/>, adding its live keys, and returns the next cursor (0 when
    /// the walk is over). Reverse-binary increments, as Redis's dictScan, survive resizes between calls.
    /// </summary>
    public ulong ScanBucket(ulong cursor, List<byte[]> keys) => ScanBucket(cursor, keys, -1);

    /// <summary>As <see cref="ScanBucket(ulong, List{byte[]})"/>, keeping only keys of <paramref name="slot"/> (-1: all).</summary>
    public ulong ScanBucket(ulong cursor, List<byte[]> keys, int slot)
    {
        var mask = (ulong)(_buckets.Length - 1);
        var i = _buckets[(int)(cursor & mask)] - 1;
        while (i >= 0)
        {
            ref var e = ref _entries[i];
            if (!e.Tombstone && (slot < 0 || e.Slot == slot))
                keys.Add(e.Key!);
            i = e.Next;
        }

        return NextCursor(cursor, mask);
    }

    /// <summary>As <see cref="ScanBucket(ulong, List{byte[]})"/> for one slot, tombstones included, with versions.</summary>
    public ulong ScanSlotBucket(ulong cursor, ushort slot, List<SlotEntry> entries)
    {
        var mask = (ulong)(_buckets.Length - 1);
        var i = _buckets[(int)(cursor & mask)] - 1;
        while (i >= 0)
        {
            ref var e = ref _entries[i];
            if (e.Slot == slot)
                entries.Add(new SlotEntry(e.Key!, e.Version, e.Tombstone));
            i = e.Next;
        }

        return NextCursor(cursor, mask);
    }

    /// <summary>
    /// Visits one bucket, adding the keys of tombstones whose deletion (or expiry) is older than
    /// <paramref name="cutoffMs"/>; returns the next cursor.
    /// </summary>
    public ulong CollectStaleTombstones(ulong cursor, long cutoffMs, List<byte[]> keys)
    {
        var mask = (ulong)(_buckets.Length - 1);
        var i = _buckets[(int)(cursor & mask)] - 1;
        while (i >= 0)
        {
            ref var e = ref _entries[i];
            if (e.Tombstone && HybridClock.TimeOf(e.Version) < cutoffMs && e.ExpiresAt < cutoffMs)
                keys.Add(e.Key!);
            i = e.Next;
        }

        return NextCursor(cursor, mask);
    }

    /// <summary>Entry indices handed out so far: every used entry is below this (recovery and flush walks).</summary>
    public int EntrySlots => _used;

    /// <summary>Whether the entry at <paramref name="index"/> holds a key (live or tombstone).</summary>
    public bool IsUsed(int index) => _entries[index].Key is not null;

    private static ulong NextCursor(ulong cursor, ulong mask)
    {
        cursor |= ~mask;
        cursor = Reverse(cursor);
        cursor++;
        return Reverse(cursor);
    }

    private static ulong Reverse(ulong v)
    {
        v = ((v >> 1) & 0x5555555555555555UL) | ((v & 0x5555555555555555UL) << 1);
        v = ((v >> 2) & 0x3333333333333333UL) | ((v & 0x3333333333333333UL) << 2);
        v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FUL) | ((v & 0x0F0F0F0F0F0F0F0FUL) << 4);
        return System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v);
    }

    // Re-lays the table densely with a new bucket count: drops free slots so the entry array shrinks too.
    // Entry indices change, so callers never keep one across a call that may add or remove.
    private void Rebuild(int bucketCount)
    {
        var total = _used - _freeCount;
        var entries = new Entry[Math.Max(MinBuckets, Math.Max(bucketCount, total))];
        var buckets = new int[bucketCount];
        var expiring = new int[Math.Max(4, (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, _expiringCount)))];
        var n = 0;
        var x = 0;
        for (var i = 0; i < _used; i++)
        {
            ref var old = ref _entries[i];
            if (old.Key is null)
                continue;
            ref var e = ref entries[n];
            e = old;
            ref var bucket = ref buckets[e.Hash & (bucketCount - 1)];
            e.Next = bucket - 1;
            bucket = n + 1;
            if (e.ExpiryIndex >= 0)
            {
                e.ExpiryIndex = x;
                expiring[x++] = n;
            }

            n++;
        }

        _entries = entries;
        _buckets = buckets;
        _used = n;
        _freeList = -1;
        _freeCount = 0;
        _expiring = expiring;
        _expiringCount = x;
    }
}

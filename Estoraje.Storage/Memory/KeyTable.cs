using System.Numerics;

namespace Estoraje.Storage.Memory;

/// <summary>
/// One shard's keys: a chained hash table over a flat entry array, with power-of-two buckets so that
/// Redis's reverse-binary cursor gives SCAN its guarantee across resizes, and a dense list of the
/// entries that expire so active expiry samples them in O(1). Not thread-safe: its shard's lock guards it.
/// </summary>
internal sealed class KeyTable : IBucketScan, IExpirySample
{
    private const int MinBuckets = 4;

    private int[] _buckets = new int[MinBuckets]; // 1-based entry index, 0 = empty
    private Entry[] _entries = new Entry[MinBuckets];
    private int _used;       // entries ever handed out (live or free)
    private int _freeList = -1;
    private int _freeCount;
    private int[] _expiring = new int[4];
    private int _expiringCount;

    internal struct Entry
    {
        public byte[]? Key;
        public object? Value;
        public long ExpiresAt;
        public long LastAccess;
        public long Version;
        public int Hash;
        public int Next;        // next entry index in the bucket chain, -1 = end; in the free list: next free
        public int Length;
        public int ExpiryIndex; // position in _expiring, -1 when the key does not expire
        public ValueKind Kind;
    }

    public int Count => _used - _freeCount;

    /// <summary>
    /// Bytes held by this shard's keys and values, kept by the store under the shard lock: one shared
    /// counter updated atomically by every write would bounce its cache line between cores.
    /// </summary>
    public long UsedBytes { get; set; }

    public int ExpiringCount => _expiringCount;

    public int BucketCount => _buckets.Length;

    public ref Entry this[int index] => ref _entries[index];

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

    /// <summary>Adds a new key (which must not be present) and returns its entry index.</summary>
    public int Add(byte[] key, int hash)
    {
        if (Count >= _buckets.Length)
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
        e.ExpiryIndex = -1;
        ref var bucket = ref _buckets[hash & (_buckets.Length - 1)];
        e.Next = bucket - 1;
        bucket = index + 1;
        return index;
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
        e = default;
        e.Next = _freeList;
        _freeList = index;
        _freeCount++;

        if (_buckets.Length > MinBuckets && Count < _buckets.Length / 8)
            Rebuild(Math.Max(MinBuckets, (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, Count * 2))));
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

    /// <summary>Entry index of a random key that expires, or -1.</summary>
    public int RandomExpiring(Random random) => _expiringCount == 0 ? -1 : _expiring[random.Next(_expiringCount)];

    /// <summary>Entry index of a random key, or -1 when empty. Density stays above 1/8, so few draws are needed.</summary>
    public int RandomEntry(Random random)
    {
        if (Count == 0)
            return -1;
        while (true)
        {
            var i = random.Next(_used);
            if (_entries[i].Key is not null)
                return i;
        }
    }

    public void Clear()
    {
        _buckets = new int[MinBuckets];
        _entries = new Entry[MinBuckets];
        _used = 0;
        _freeList = -1;
        _freeCount = 0;
        _expiring = new int[4];
        _expiringCount = 0;
        UsedBytes = 0;
    }

    /// <summary>
    /// Visits the bucket at <paramref name="cursor"/> and returns the next cursor (0 when the walk is over).
    /// The cursor's bits are reversed before incrementing, as in Redis's dictScan, so buckets already
    /// visited stay visited when the table doubles or halves between calls.
    /// </summary>
    public ulong ScanBucket(ulong cursor, List<byte[]> keys)
    {
        var mask = (ulong)(_buckets.Length - 1);
        var i = _buckets[(int)(cursor & mask)] - 1;
        while (i >= 0)
        {
            keys.Add(_entries[i].Key!);
            i = _entries[i].Next;
        }

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
    private void Rebuild(int bucketCount)
    {
        var live = Count;
        var entries = new Entry[Math.Max(MinBuckets, Math.Max(bucketCount, live))];
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

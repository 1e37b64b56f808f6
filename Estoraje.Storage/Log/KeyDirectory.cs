using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Estoraje.Storage.Log;

/// <summary>
/// One shard of the log store's key directory: key → where its latest record lies, its version, expiry and
/// type. Values stay on disk (or in the hot-value cache). Deleted and expired keys stay as tombstones until
/// their grace period ends, so that an older record arriving later (replication, recovery of an older
/// segment) cannot bring them back. Chained buckets over an entry array, reverse-binary SCAN cursors and a
/// dense list of expiring keys, as <see cref="Memory.KeyTable"/>; unlike it, the entries hold no reference
/// (keys live in a <see cref="KeyArena"/>, cached values in a side table) and sit in fixed pages, so a key
/// costs <see cref="OverheadPerKey"/> bytes beyond its own and the GC never scans the entries.
/// Not thread-safe: its shard's lock guards it.
/// </summary>
internal sealed class KeyDirectory : IBucketScan, IExpirySample
{
    /// <summary>Bytes of one <see cref="Entry"/> (checked by a test).</summary>
    public const int EntrySize = 54;

    /// <summary>
    /// Bytes of bookkeeping per key beyond the key's own bytes, tables full: the entry, its bucket (4 bytes at a
    /// load factor of one) and the key's length prefix in the arena (one byte under 128 bytes; see
    /// <see cref="BytesFor"/>). The bucket array doubles: right after it did, a bucket costs 8 bytes per key.
    /// </summary>
    public const int OverheadPerKey = EntrySize + 4 + 1;

    private const int MinBuckets = 4;

    // 1024 entries of 54 bytes: a page stays under the large object heap's threshold (85,000 bytes).
    private const int PageBits = 10;
    private const int PageSize = 1 << PageBits;
    private const int PageMask = PageSize - 1;

    private readonly KeyArena _arena = new();
    private int[] _buckets = new int[MinBuckets]; // 1-based entry index, 0 = empty
    private Entry[][] _pages = [new Entry[MinBuckets]];
    private int _pageCount = 1;
    private int _capacity = MinBuckets;
    private int _used;       // entries ever handed out (live, tombstone or free)
    private int _freeList = -1;
    private int _freeCount;
    private int _tombstones;
    private int[] _expiring = new int[4];
    private int _expiringCount;

    // The hot-value cache's nodes of this shard's entries, by the slot an entry holds (0: none). For a slot in
    // use, _cacheOwners holds its entry's index; for a free one, the next free slot.
    private CacheNode?[] _cacheNodes = new CacheNode?[1];
    private int[] _cacheOwners = new int[1];
    private int _cacheSlots = 1;
    private int _freeCacheSlot;

    /// <summary>
    /// 54 bytes (checked by a test), no reference. The last access is a 24-bit clock in seconds, as Redis's
    /// LRU clock: idle times are exact up to 194 days. Packing 2 leaves no padding after the 2-byte slot word.
    /// </summary>
    [StructLayout(LayoutKind.Sequential, Pack = 2)]
    internal struct Entry
    {
        private const uint ClockMask = (1u << 24) - 1;
        private const ushort SlotMask = 0x3FFF;
        private const ushort TombstoneFlag = 0x4000;
        private const ushort UsedFlag = 0x8000;

        public long Version;
        public long ExpiresAt;
        public int Hash;
        public int Next;        // next entry index in the bucket chain, -1 = end; in the free list: next free
        public int ExpiryIndex; // position in _expiring, -1 when the key does not expire (tombstones never do)
        public int Segment;
        public int Offset;      // of the record in its segment
        public int Length;      // of the value
        public uint Key;        // handle of the key in the shard's arena
        public int CacheSlot;   // of its cached value, 0 = none
        private uint _clockAndKind;   // last access (24 bits) | kind << 24
        private ushort _slotAndFlags; // cluster slot (14 bits) | tombstone << 14 | used << 15

        public ValueKind Kind
        {
            readonly get => (ValueKind)(_clockAndKind >> 24);
            set => _clockAndKind = (_clockAndKind & ClockMask) | (uint)value << 24;
        }

        public readonly ushort Slot => (ushort)(_slotAndFlags & SlotMask);

        public bool Tombstone
        {
            readonly get => (_slotAndFlags & TombstoneFlag) != 0;
            set => _slotAndFlags = (ushort)(value ? _slotAndFlags | TombstoneFlag : _slotAndFlags & ~TombstoneFlag);
        }

        /// <summary>Whether the entry holds a key (live or tombstone), not a free place.</summary>
        public readonly bool IsUsed => (_slotAndFlags & UsedFlag) != 0;

        /// <summary>Records an access at <paramref name="seconds"/> (the store's clock).</summary>
        public void Touch(int seconds) => _clockAndKind = (_clockAndKind & ~ClockMask) | ((uint)seconds & ClockMask);

        /// <summary>Seconds since the last access, as of <paramref name="nowSeconds"/>; wraps after 2^24 (194 days).</summary>
        public readonly int IdleSeconds(int nowSeconds) => (int)((uint)(nowSeconds - (int)(_clockAndKind & ClockMask)) & ClockMask);

        internal void Init(uint key, int hash, ushort slot)
        {
            this = default;
            Key = key;
            Hash = hash;
            ExpiryIndex = -1;
            _slotAndFlags = (ushort)((slot & SlotMask) | UsedFlag);
        }
    }

    /// <summary>Live keys (expired ones not yet reclaimed included), tombstones excluded.</summary>
    public int Count => _used - _freeCount - _tombstones;

    public int TombstoneCount => _tombstones;

    public int ExpiringCount => _expiringCount;

    public int BucketCount => _buckets.Length;

    /// <summary>Bytes of the keys' records in the arena (the keys and their length prefixes).</summary>
    public long KeyBytes => _arena.LiveBytes;

    /// <summary>
    /// Bytes held by this directory's arrays: entry pages, buckets, the expiring list and the key arena's chunks
    /// (array headers aside). The cache slot table is left out: the cache charges it to its budget
    /// (<see cref="S3FifoCache.NodeOverhead"/>). Read without the lock, it may be a little off.
    /// </summary>
    public long AllocatedBytes => (long)_capacity * EntrySize + _buckets.Length * 4L + _expiring.Length * 4L + _arena.AllocatedBytes;

    /// <summary>The key arena (for tests).</summary>
    internal KeyArena Arena => _arena;

    public ref Entry this[int index] => ref _pages[index >> PageBits][index & PageMask];

    /// <summary>Bytes a key of <paramref name="keyLength"/> bytes costs in the directory, itself included.</summary>
    public static int BytesFor(int keyLength) => EntrySize + 4 + KeyArena.RecordSize(keyLength);

    /// <summary>The hash every key is filed under (randomized per process).</summary>
    public static int Hash(ReadOnlySpan<byte> key)
    {
        var h = new HashCode();
        h.AddBytes(key);
        return h.ToHashCode();
    }

    /// <summary>The key of an entry: valid until the next call that adds or removes a key.</summary>
    public ReadOnlySpan<byte> KeyOf(int index) => _arena.Get(this[index].Key);

    /// <summary>A copy of the key of an entry.</summary>
    public byte[] KeyArray(int index) => _arena.Get(this[index].Key).ToArray();

    /// <summary>Size of the entry's current record on disk.</summary>
    public long RecordSize(int index) => RecordFormat.RecordSize(KeyOf(index).Length, this[index].Length);

    /// <summary>Entry index of the key, live or tombstone, or -1. Compares against the arena: allocates nothing.</summary>
    public int Find(ReadOnlySpan<byte> key, int hash)
    {
        var i = _buckets[hash & (_buckets.Length - 1)] - 1;
        while (i >= 0)
        {
            ref var e = ref this[i];
            if (e.Hash == hash && key.SequenceEqual(_arena.Get(e.Key)))
                return i;
            i = e.Next;
        }

        return -1;
    }

    /// <summary>
    /// Adds a new live key (which must not be present; <paramref name="hash"/> must be its <see cref="Hash"/>)
    /// and returns its entry index.
    /// </summary>
    public int Add(ReadOnlySpan<byte> key, int hash, ushort slot)
    {
        Debug.Assert(hash == Hash(key), "A key is filed under its Hash: moving keys in the arena finds their entries by it.");
        if (_used - _freeCount >= _buckets.Length)
            Relink(_buckets.Length * 2);

        var handle = _arena.Add(key);
        int index;
        if (_freeCount > 0)
        {
            index = _freeList;
            _freeList = this[index].Next;
            _freeCount--;
        }
        else
        {
            if (_used == _capacity)
                AddPage();
            index = _used++;
        }

        ref var e = ref this[index];
        e.Init(handle, hash, slot);
        ref var bucket = ref _buckets[hash & (_buckets.Length - 1)];
        e.Next = bucket - 1;
        bucket = index + 1;
        MoveKeys();
        return index;
    }

    /// <summary>
    /// Turns a live entry into a tombstone (it keeps its key, version and record position). The caller drops
    /// its cached value from the cache first.
    /// </summary>
    public void MarkTombstone(int index)
    {
        ref var e = ref this[index];
        if (e.Tombstone)
            return;
        SetExpiry(index, 0);
        SetCached(index, null);
        e.Tombstone = true;
        e.Kind = ValueKind.None;
        _tombstones++;
    }

    /// <summary>Turns a tombstone back into a live entry (a newer value arrived).</summary>
    public void Revive(int index)
    {
        ref var e = ref this[index];
        if (!e.Tombstone)
            return;
        e.Tombstone = false;
        _tombstones--;
    }

    public void RemoveAt(int index)
    {
        ref var e = ref this[index];
        ref var bucket = ref _buckets[e.Hash & (_buckets.Length - 1)];
        var i = bucket - 1;
        var previous = -1;
        while (i != index)
        {
            previous = i;
            i = this[i].Next;
        }

        if (previous < 0)
            bucket = e.Next + 1;
        else
            this[previous].Next = e.Next;

        SetExpiry(index, 0);
        SetCached(index, null);
        if (e.Tombstone)
            _tombstones--;
        _arena.Free(e.Key);
        e = default;
        e.Next = _freeList;
        _freeList = index;
        _freeCount++;

        var total = _used - _freeCount;
        if (_buckets.Length > MinBuckets && total < _buckets.Length / 8)
            Relayout(Math.Max(MinBuckets, (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, total * 2))));
        MoveKeys();
    }

    public void SetExpiry(int index, long expiresAt)
    {
        ref var e = ref this[index];
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
            this[last].ExpiryIndex = e.ExpiryIndex;
            e.ExpiryIndex = -1;
        }
    }

    /// <summary>The hot-value cache's node of an entry, or null.</summary>
    public CacheNode? CachedAt(int index)
    {
        var slot = this[index].CacheSlot;
        return slot == 0 ? null : _cacheNodes[slot];
    }

    /// <summary>Points an entry at its cached value's node (null: none).</summary>
    public void SetCached(int index, CacheNode? node)
    {
        ref var e = ref this[index];
        if (e.CacheSlot != 0)
        {
            _cacheNodes[e.CacheSlot] = null;
            _cacheOwners[e.CacheSlot] = _freeCacheSlot;
            _freeCacheSlot = e.CacheSlot;
            e.CacheSlot = 0;
        }

        if (node is null)
            return;
        int slot;
        if (_freeCacheSlot != 0)
        {
            slot = _freeCacheSlot;
            _freeCacheSlot = _cacheOwners[slot];
        }
        else
        {
            if (_cacheSlots == _cacheNodes.Length)
            {
                Array.Resize(ref _cacheNodes, _cacheNodes.Length * 2);
                Array.Resize(ref _cacheOwners, _cacheOwners.Length * 2);
            }

            slot = _cacheSlots++;
        }

        _cacheNodes[slot] = node;
        _cacheOwners[slot] = index;
        node.Slot = slot;
        e.CacheSlot = slot;
    }

    /// <summary>Forgets a node the cache evicted, if an entry still points at it.</summary>
    public void Uncache(CacheNode node)
    {
        var slot = node.Slot;
        if (slot > 0 && slot < _cacheSlots && ReferenceEquals(_cacheNodes[slot], node))
            SetCached(_cacheOwners[slot], null);
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
            if (this[i].IsUsed && !this[i].Tombstone)
                return i;
        }

        var start = random.Next(_used);
        for (var n = 0; n < _used; n++)
        {
            var i = (start + n) % _used;
            if (this[i].IsUsed && !this[i].Tombstone)
                return i;
        }

        return -1;
    }

    public void Clear()
    {
        _arena.Clear();
        _buckets = new int[MinBuckets];
        _pages = [new Entry[MinBuckets]];
        _pageCount = 1;
        _capacity = MinBuckets;
        _used = 0;
        _freeList = -1;
        _freeCount = 0;
        _tombstones = 0;
        _expiring = new int[4];
        _expiringCount = 0;
        _cacheNodes = new CacheNode?[1];
        _cacheOwners = new int[1];
        _cacheSlots = 1;
        _freeCacheSlot = 0;
    }

    /// <summary>
    /// Visits the bucket at <paramref name="cursor"/>, adding copies of its live keys, and returns the next
    /// cursor (0 when the walk is over). Reverse-binary increments, as Redis's dictScan, survive resizes between
    /// calls.
    /// </summary>
    public ulong ScanBucket(ulong cursor, List<byte[]> keys) => ScanBucket(cursor, keys, -1);

    /// <summary>As <see cref="ScanBucket(ulong, List{byte[]})"/>, keeping only keys of <paramref name="slot"/> (-1: all).</summary>
    public ulong ScanBucket(ulong cursor, List<byte[]> keys, int slot)
    {
        var mask = (ulong)(_buckets.Length - 1);
        var i = _buckets[(int)(cursor & mask)] - 1;
        while (i >= 0)
        {
            ref var e = ref this[i];
            if (!e.Tombstone && (slot < 0 || e.Slot == slot))
                keys.Add(_arena.Get(e.Key).ToArray());
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
            ref var e = ref this[i];
            if (e.Slot == slot)
                entries.Add(new SlotEntry(_arena.Get(e.Key).ToArray(), e.Version, e.Tombstone));
            i = e.Next;
        }

        return NextCursor(cursor, mask);
    }

    /// <summary>
    /// Visits one bucket, adding copies of the keys of tombstones whose deletion (or expiry) is older than
    /// <paramref name="cutoffMs"/>; returns the next cursor.
    /// </summary>
    public ulong CollectStaleTombstones(ulong cursor, long cutoffMs, List<byte[]> keys)
    {
        var mask = (ulong)(_buckets.Length - 1);
        var i = _buckets[(int)(cursor & mask)] - 1;
        while (i >= 0)
        {
            ref var e = ref this[i];
            if (e.Tombstone && HybridClock.TimeOf(e.Version) < cutoffMs && e.ExpiresAt < cutoffMs)
                keys.Add(_arena.Get(e.Key).ToArray());
            i = e.Next;
        }

        return NextCursor(cursor, mask);
    }

    /// <summary>Entry indices handed out so far: every used entry is below this (recovery and flush walks).</summary>
    public int EntrySlots => _used;

    /// <summary>Whether the entry at <paramref name="index"/> holds a key (live or tombstone).</summary>
    public bool IsUsed(int index) => this[index].IsUsed;

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

    // Entries grow a page at a time (the first page doubling up to a full one): no doubling of the whole array,
    // so its slack stays under a page and growing copies nothing.
    private void AddPage()
    {
        if (_pageCount == 1 && _pages[0].Length < PageSize)
        {
            Array.Resize(ref _pages[0], _pages[0].Length * 2);
            _capacity = _pages[0].Length;
            return;
        }

        if (_pageCount == _pages.Length)
            Array.Resize(ref _pages, _pages.Length * 2);
        _pages[_pageCount++] = new Entry[PageSize];
        _capacity += PageSize;
    }

    // A new bucket count for the same entries: only the chains are rebuilt (entry indices stay).
    private void Relink(int bucketCount)
    {
        var buckets = new int[bucketCount];
        for (var i = 0; i < _used; i++)
        {
            ref var e = ref this[i];
            if (!e.IsUsed)
                continue;
            ref var bucket = ref buckets[e.Hash & (bucketCount - 1)];
            e.Next = bucket - 1;
            bucket = i + 1;
        }

        _buckets = buckets;
    }

    // Re-lays the table densely with a new bucket count, so that the pages shrink too. Entry indices change,
    // so callers never keep one across a call that may remove.
    private void Relayout(int bucketCount)
    {
        var total = _used - _freeCount;
        var capacity = Math.Max(MinBuckets, total);
        Entry[][] pages;
        if (capacity <= PageSize)
        {
            pages = [new Entry[(int)BitOperations.RoundUpToPowerOf2((uint)capacity)]];
            capacity = pages[0].Length;
        }
        else
        {
            pages = new Entry[(capacity + PageMask) >> PageBits][];
            for (var p = 0; p < pages.Length; p++)
                pages[p] = new Entry[PageSize];
            capacity = pages.Length * PageSize;
        }

        var buckets = new int[bucketCount];
        var expiring = new int[Math.Max(4, (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, _expiringCount)))];
        var n = 0;
        var x = 0;
        for (var i = 0; i < _used; i++)
        {
            ref var old = ref this[i];
            if (!old.IsUsed)
                continue;
            ref var e = ref pages[n >> PageBits][n & PageMask];
            e = old;
            ref var bucket = ref buckets[e.Hash & (bucketCount - 1)];
            e.Next = bucket - 1;
            bucket = n + 1;
            if (e.ExpiryIndex >= 0)
            {
                e.ExpiryIndex = x;
                expiring[x++] = n;
            }

            if (e.CacheSlot != 0)
                _cacheOwners[e.CacheSlot] = n;
            n++;
        }

        _pages = pages;
        _pageCount = pages.Length;
        _capacity = capacity;
        _buckets = buckets;
        _used = n;
        _freeList = -1;
        _freeCount = 0;
        _expiring = expiring;
        _expiringCount = x;
    }

    // Moves the live keys out of every arena chunk that became mostly dead, then releases it. A record's entry is
    // the one of its key's chain that holds its handle; a record no entry holds is dead.
    private void MoveKeys()
    {
        while (_arena.TryBeginMove(out var chunk))
        {
            var position = 0;
            while (_arena.NextRecord(chunk, ref position, out var handle, out var key))
            {
                var i = FindHandle(key, handle);
                if (i < 0)
                    continue;
                this[i].Key = _arena.Add(key);
                _arena.Free(handle);
            }

            _arena.EndMove(chunk);
        }
    }

    private int FindHandle(ReadOnlySpan<byte> key, uint handle)
    {
        var hash = Hash(key);
        var i = _buckets[hash & (_buckets.Length - 1)] - 1;
        while (i >= 0)
        {
            ref var e = ref this[i];
            if (e.Key == handle && e.IsUsed)
                return i;
            i = e.Next;
        }

        return -1;
    }
}

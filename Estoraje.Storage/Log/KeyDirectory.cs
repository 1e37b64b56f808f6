using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Estoraje.Storage.Log;

/// <summary>
/// One shard of the log store's key directory: key → where its latest record lies, its version, expiry and
/// type. Values stay on disk (or in the hot-value cache). Deleted and expired keys stay as tombstones until
/// their grace period ends, so that an older record arriving later (replication, recovery of an older
/// segment) cannot bring them back. A <see cref="ChainedTable{TEntry}"/>, as <see cref="Memory.KeyTable"/>;
/// unlike its entries, these hold no reference (keys live in a <see cref="KeyArena"/>, cached values' nodes in a
/// slot table), so a key costs <see cref="OverheadPerKey"/> bytes beyond its own and the GC never scans the
/// entries. Not thread-safe: its shard's lock guards it.
/// </summary>
internal sealed class KeyDirectory : ChainedTable<KeyDirectory.Entry>, IBucketScan, IExpirySample
{
    /// <summary>Bytes of one <see cref="Entry"/> (checked by a test).</summary>
    public const int EntrySize = 54;

    /// <summary>
    /// Bytes of bookkeeping per key beyond the key's own bytes, tables full: the entry, its bucket (4 bytes at a
    /// load factor of one) and the key's length prefix in the arena (one byte under 128 bytes; see
    /// <see cref="BytesFor"/>). The bucket array doubles: right after it did, a bucket costs 8 bytes per key.
    /// </summary>
    public const int OverheadPerKey = EntrySize + 4 + 1;

    private readonly KeyArena _arena = new();
    private int _tombstones;

    // The hot-value cache's nodes of this shard's entries, by the slot an entry holds (0: none). For a slot in
    // use, _cacheOwners holds its entry's index; for a free one, the next free slot.
    private CacheNode?[] _cacheNodes = new CacheNode?[1];
    private int[] _cacheOwners = new int[1];

    // The value of each slot's node, beside it: a read that hits the cache loads the value from here while the
    // node (whose frequency it bumps) loads in parallel, one dependent cache miss fewer than node → value. Kept
    // equal to the node's value: set with the node, after a replace (RefreshCached), cleared with it.
    private byte[]?[] _cacheValues = new byte[]?[1];
    private int _cacheSlots = 1;
    private int _freeCacheSlot;

    /// <summary>
    /// 54 bytes (checked by a test), no reference. The last access is a 24-bit clock in seconds, as Redis's
    /// LRU clock: idle times are exact up to 194 days. Packing 2 leaves no padding after the 2-byte slot word.
    /// </summary>
    [StructLayout(LayoutKind.Sequential, Pack = 2)]
    internal struct Entry : IChainEntry
    {
        private const uint ClockMask = (1u << 24) - 1;
        private const ushort SlotMask = 0x3FFF;
        private const ushort TombstoneFlag = 0x4000;
        private const ushort UsedFlag = 0x8000;

        public long Version;
        public int Segment;
        public int Offset;      // of the record in its segment
        public int Length;      // of the value
        public uint Key;        // handle of the key in the shard's arena
        public int CacheSlot;   // of its cached value, 0 = none
        private uint _clockAndKind;   // last access (24 bits) | kind << 24
        private ushort _slotAndFlags; // cluster slot (14 bits) | tombstone << 14 | used << 15

        public long ExpiresAt { readonly get; set; }

        public int Hash { readonly get; set; }

        public int Next { readonly get; set; }

        // Tombstones never expire: -1.
        public int ExpiryIndex { readonly get; set; }

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

        /// <summary>Makes an entry the table just allocated hold a key.</summary>
        internal void Use(uint key, ushort slot)
        {
            Key = key;
            _slotAndFlags = (ushort)((slot & SlotMask) | UsedFlag);
        }
    }

    /// <summary>Live keys (expired ones not yet reclaimed included), tombstones excluded.</summary>
    public int Count => Occupied - _tombstones;

    public int TombstoneCount => _tombstones;

    /// <summary>
    /// Bytes held by this directory's arrays: entry pages, buckets, the expiring list and the key arena's chunks
    /// (array headers aside). The cache slot table is left out: the cache charges it to its budget
    /// (<see cref="S3FifoCache.NodeOverhead"/>). Read without the lock, it may be a little off.
    /// </summary>
    public long AllocatedBytes => TableBytes + _arena.AllocatedBytes;

    /// <summary>The key arena (for tests).</summary>
    internal KeyArena Arena => _arena;

    /// <summary>Bytes a key of <paramref name="keyLength"/> bytes costs in the directory, itself included.</summary>
    public static int BytesFor(int keyLength) => EntrySize + 4 + KeyArena.RecordSize(keyLength);

    /// <summary>The hash every key is filed under (randomized per process).</summary>
    public static int Hash(ReadOnlySpan<byte> key) => KeyHash.Of(key);

    /// <summary>The key of an entry: valid until the next call that adds or removes a key.</summary>
    public ReadOnlySpan<byte> KeyOf(int index) => _arena.Get(this[index].Key);

    /// <summary>A copy of the key of an entry.</summary>
    public byte[] KeyArray(int index) => _arena.Get(this[index].Key).ToArray();

    /// <summary>Size of the entry's current record on disk.</summary>
    public long RecordSize(int index) => RecordFormat.RecordSize(KeyOf(index).Length, this[index].Length);

    /// <summary>Entry index of the key, live or tombstone, or -1. Compares against the arena: allocates nothing.</summary>
    public int Find(ReadOnlySpan<byte> key, int hash)
    {
        for (var i = Head(hash); i >= 0; i = this[i].Next)
        {
            ref var e = ref this[i];
            if (e.Hash == hash && key.SequenceEqual(_arena.Get(e.Key)))
                return i;
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
        var handle = _arena.Add(key);
        var index = Allocate(hash);
        this[index].Use(handle, slot);
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

    /// <summary>Removes an entry, live or tombstone. Entry indices may change (the table may re-lay out).</summary>
    public void RemoveAt(int index)
    {
        ref var e = ref this[index];
        SetCached(index, null);
        if (e.Tombstone)
            _tombstones--;
        _arena.Free(e.Key);
        Free(index);
        MoveKeys();
    }

    /// <summary>The hot-value cache's node of an entry, or null.</summary>
    public CacheNode? CachedAt(int index)
    {
        var slot = this[index].CacheSlot;
        return slot == 0 ? null : _cacheNodes[slot];
    }

    /// <summary>
    /// The cached value of an entry and its node, or null: the read path (see <see cref="_cacheValues"/>). The value
    /// comes from the slot table, not from the node: every path that takes a node's value (eviction, drop) unlinks it
    /// from its entry under the same lock, so a linked node always holds the value beside it, and the read does not
    /// wait for the node's cache line.
    /// </summary>
    public byte[]? CachedValueAt(int index, out CacheNode? node)
    {
        var slot = this[index].CacheSlot;
        if (slot == 0)
        {
            node = null;
            return null;
        }

        node = _cacheNodes[slot];
        var value = _cacheValues[slot];
        Debug.Assert(ReferenceEquals(node!.Value, value), "A linked node holds the value beside it.");
        return value;
    }

    /// <summary>
    /// Reads the entry at <paramref name="index"/> (prefetched before) without the lock and, if it is the key of
    /// <paramref name="hash"/>'s, prefetches its key and its cache slot; returns its cache slot (0: none).
    /// </summary>
    public int PrefetchKeyAndSlot(int index, int hash)
    {
        if (!TryPeek(index, out var e) || e.Hash != hash || !e.IsUsed)
            return 0;
        _arena.Prefetch(e.Key);
        var slot = e.CacheSlot;
        var values = _cacheValues;
        var nodes = _cacheNodes;
        if (slot <= 0 || slot >= values.Length || slot >= nodes.Length)
            return 0;
        CacheLines.Prefetch(ref values[slot]);
        CacheLines.Prefetch(ref nodes[slot]);
        return slot;
    }

    /// <summary>Prefetches the cached value of a slot (read without the lock) and its node, whose frequency a hit bumps.</summary>
    public void PrefetchCached(int slot)
    {
        var values = _cacheValues;
        var nodes = _cacheNodes;
        if (slot >= values.Length || slot >= nodes.Length)
            return;
        if (values[slot] is { Length: > 0 } value)
            CacheLines.Prefetch(ref MemoryMarshal.GetArrayDataReference(value), Math.Min(value.Length, 128));
        if (nodes[slot] is { } node)
            CacheLines.Prefetch(ref node.Frequency);
    }

    /// <summary>Takes the new value of an entry's node after the cache replaced it in place.</summary>
    public void RefreshCached(int index)
    {
        var slot = this[index].CacheSlot;
        if (slot != 0)
            _cacheValues[slot] = _cacheNodes[slot]!.Value;
    }

    /// <summary>Points an entry at its cached value's node (null: none).</summary>
    public void SetCached(int index, CacheNode? node)
    {
        ref var e = ref this[index];
        if (e.CacheSlot != 0)
        {
            _cacheNodes[e.CacheSlot] = null;
            _cacheValues[e.CacheSlot] = null;
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
                Array.Resize(ref _cacheValues, _cacheValues.Length * 2);
                Array.Resize(ref _cacheOwners, _cacheOwners.Length * 2);
            }

            slot = _cacheSlots++;
        }

        _cacheNodes[slot] = node;
        _cacheValues[slot] = node.Value;
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

    /// <summary>Entry index of a random live key, or -1 when there is none.</summary>
    public int RandomEntry(Random random)
    {
        if (Count == 0)
            return -1;
        // Live entries are at least 1/8 of the slots unless tombstones crowd them: draw a few times, then walk.
        var slots = EntrySlots;
        for (var attempt = 0; attempt < 64; attempt++)
        {
            var i = random.Next(slots);
            if (this[i].IsUsed && !this[i].Tombstone)
                return i;
        }

        var start = random.Next(slots);
        for (var n = 0; n < slots; n++)
        {
            var i = (start + n) % slots;
            if (this[i].IsUsed && !this[i].Tombstone)
                return i;
        }

        return -1;
    }

    public void Clear()
    {
        Reset();
        _arena.Clear();
        _tombstones = 0;
        _cacheNodes = new CacheNode?[1];
        _cacheValues = new byte[]?[1];
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
        var first = Head(cursor, out var next);
        for (var i = first; i >= 0; i = this[i].Next)
        {
            ref var e = ref this[i];
            if (!e.Tombstone && (slot < 0 || e.Slot == slot))
                keys.Add(_arena.Get(e.Key).ToArray());
        }

        return next;
    }

    /// <summary>As <see cref="ScanBucket(ulong, List{byte[]})"/> for one slot, tombstones included, with versions.</summary>
    public ulong ScanSlotBucket(ulong cursor, ushort slot, List<SlotEntry> entries)
    {
        var first = Head(cursor, out var next);
        for (var i = first; i >= 0; i = this[i].Next)
        {
            ref var e = ref this[i];
            if (e.Slot == slot)
                entries.Add(new SlotEntry(_arena.Get(e.Key).ToArray(), e.Version, e.Tombstone));
        }

        return next;
    }

    /// <summary>
    /// Visits one bucket, adding where the record of each entry lies when it lies in one of
    /// <paramref name="segments"/> (indexed by id); returns the next cursor.
    /// </summary>
    public ulong CollectRecordsIn(ulong cursor, Segment?[] segments, List<RecordLocation> found)
    {
        var first = Head(cursor, out var next);
        for (var i = first; i >= 0; i = this[i].Next)
        {
            ref var e = ref this[i];
            if ((uint)e.Segment < (uint)segments.Length && segments[e.Segment] is not null && e.Version != 0)
                found.Add(new RecordLocation(e.Segment, e.Offset, e.Version));
        }

        return next;
    }

    /// <summary>
    /// Visits one bucket, adding copies of the keys of tombstones whose deletion (or expiry) is older than
    /// <paramref name="cutoffMs"/>; returns the next cursor.
    /// </summary>
    public ulong CollectStaleTombstones(ulong cursor, long cutoffMs, List<byte[]> keys)
    {
        var first = Head(cursor, out var next);
        for (var i = first; i >= 0; i = this[i].Next)
        {
            ref var e = ref this[i];
            if (e.Tombstone && HybridClock.TimeOf(e.Version) < cutoffMs && e.ExpiresAt < cutoffMs)
                keys.Add(_arena.Get(e.Key).ToArray());
        }

        return next;
    }

    protected override void OnMoved(ref Entry entry, int index)
    {
        if (entry.CacheSlot != 0)
            _cacheOwners[entry.CacheSlot] = index;
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
        for (var i = Head(Hash(key)); i >= 0; i = this[i].Next)
        {
            if (this[i].Key == handle)
                return i;
        }

        return -1;
    }
}

using System.Numerics;
using System.Runtime.CompilerServices;

namespace Estoraje.Storage;

/// <summary>The fields of an entry that a <see cref="ChainedTable{TEntry}"/> keeps itself.</summary>
internal interface IChainEntry
{
    /// <summary>The key's hash; its low bits pick the bucket.</summary>
    int Hash { get; set; }

    /// <summary>Next entry index in the bucket's chain (-1: end); in the free list, the next free entry.</summary>
    int Next { get; set; }

    /// <summary>Position in the expiring list, -1 when the key does not expire.</summary>
    int ExpiryIndex { get; set; }

    /// <summary>Absolute expiry in Unix milliseconds, 0 when the key does not expire.</summary>
    long ExpiresAt { get; set; }

    /// <summary>Whether the entry holds a key, not a free place.</summary>
    bool IsUsed { get; }
}

/// <summary>
/// A shard's key table, shared by both stores: chained buckets (a power-of-two count, at most one key per
/// bucket) over entries in pages of 1024, a free list of removed entries, and a dense list of the entries that
/// expire, so that active expiry samples them in O(1). SCAN visits a bucket per step with Redis's
/// reverse-binary cursor, which returns every key present throughout the walk even when the buckets double or
/// halve in between. Entries grow a page at a time (the first page doubling up to a full one): the slack stays
/// under a page and growing copies no entry; growing the buckets only relinks the chains. When the keys fall
/// below an eighth of the buckets, the entries are re-laid out densely, so the pages shrink too: entry indices
/// then change, and callers keep none across a removal. An entry must stay under 83 bytes, so that a page stays
/// off the large object heap. Not thread-safe: the shard's lock guards it.
/// </summary>
internal abstract class ChainedTable<TEntry>
    where TEntry : struct, IChainEntry
{
    private const int MinBuckets = 4;
    private const int PageBits = 10;
    private const int PageSize = 1 << PageBits;
    private const int PageMask = PageSize - 1;

    private int[] _buckets = new int[MinBuckets]; // 1-based entry index, 0 = empty
    private TEntry[][] _pages = [new TEntry[MinBuckets]];
    private int _pageCount = 1;
    private int _capacity = MinBuckets;
    private int _used;       // entries ever handed out (used or free)
    private int _freeList = -1;
    private int _freeCount;
    private int[] _expiring = new int[4];
    private int _expiringCount;

    public ref TEntry this[int index] => ref _pages[index >> PageBits][index & PageMask];

    public int BucketCount => _buckets.Length;

    /// <summary>Keys in the table that have an expiry.</summary>
    public int ExpiringCount => _expiringCount;

    /// <summary>Entry indices handed out so far: every used entry is below this.</summary>
    public int EntrySlots => _used;

    /// <summary>Entries holding a key.</summary>
    protected int Occupied => _used - _freeCount;

    /// <summary>Bytes of the entry pages, the buckets and the expiring list (array headers aside).</summary>
    protected long TableBytes => (long)_capacity * Unsafe.SizeOf<TEntry>() + _buckets.Length * 4L + _expiring.Length * 4L;

    /// <summary>Whether the entry at <paramref name="index"/> holds a key.</summary>
    public bool IsUsed(int index) => this[index].IsUsed;

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

    /// <summary>Entry index of a random key that expires, or -1.</summary>
    public int RandomExpiring(Random random) => _expiringCount == 0 ? -1 : _expiring[random.Next(_expiringCount)];

    /// <summary>The first entry of the chain of <paramref name="hash"/>'s bucket, or -1.</summary>
    protected int Head(int hash) => _buckets[hash & (_buckets.Length - 1)] - 1;

    // Prefetching (LogStore.Prefetch): read without the shard's lock, so every index is checked against the array
    // it indexes, as read now; a table changing meanwhile makes the hint useless, never the read unsafe.

    /// <summary>Prefetches the bucket of <paramref name="hash"/>.</summary>
    public void PrefetchBucket(int hash)
    {
        var buckets = _buckets;
        CacheLines.Prefetch(ref buckets[hash & (buckets.Length - 1)]);
    }

    /// <summary>Reads the bucket of <paramref name="hash"/> (prefetched before) and prefetches its first entry; returns its index or -1.</summary>
    public int PrefetchHead(int hash)
    {
        var buckets = _buckets;
        var index = buckets[hash & (buckets.Length - 1)] - 1;
        if (index >= 0 && TryPeek(index, out _, prefetch: true))
            return index;
        return -1;
    }

    /// <summary>A copy of the entry at <paramref name="index"/> read without the lock, if the index is in range now.</summary>
    protected bool TryPeek(int index, out TEntry entry, bool prefetch = false)
    {
        var pages = _pages;
        var page = (uint)(index >> PageBits) < (uint)pages.Length ? pages[index >> PageBits] : null;
        var offset = index & PageMask;
        if (page is null || offset >= page.Length)
        {
            entry = default;
            return false;
        }

        if (prefetch)
        {
            CacheLines.Prefetch(ref page[offset], Unsafe.SizeOf<TEntry>());
            entry = default;
        }
        else
        {
            entry = page[offset];
        }

        return true;
    }

    /// <summary>
    /// The first entry of the chain of the bucket at SCAN <paramref name="cursor"/>, or -1; <paramref name="next"/>
    /// is the cursor that follows it (0 when the walk is over).
    /// </summary>
    protected int Head(ulong cursor, out ulong next)
    {
        var mask = (ulong)(_buckets.Length - 1);
        next = Reverse(Reverse(cursor | ~mask) + 1);
        return _buckets[(int)(cursor & mask)] - 1;
    }

    /// <summary>
    /// Takes an entry for a new key of <paramref name="hash"/> and links it into its bucket; returns its index.
    /// The entry is default but for the table's fields: the caller fills in the rest, making it used.
    /// </summary>
    protected int Allocate(int hash)
    {
        if (Occupied >= _buckets.Length)
            Relink(_buckets.Length * 2);

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
        e.Hash = hash;
        e.ExpiryIndex = -1;
        ref var bucket = ref _buckets[hash & (_buckets.Length - 1)];
        e.Next = bucket - 1;
        bucket = index + 1;
        return index;
    }

    /// <summary>Unlinks an entry and frees it; the table may then re-lay its entries out.</summary>
    protected void Free(int index)
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
        e = default;
        e.Next = _freeList;
        _freeList = index;
        _freeCount++;

        if (_buckets.Length > MinBuckets && Occupied < _buckets.Length / 8)
            Relayout(Math.Max(MinBuckets, (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, Occupied * 2))));
    }

    /// <summary>Empties the table.</summary>
    protected void Reset()
    {
        _buckets = new int[MinBuckets];
        _pages = [new TEntry[MinBuckets]];
        _pageCount = 1;
        _capacity = MinBuckets;
        _used = 0;
        _freeList = -1;
        _freeCount = 0;
        _expiring = new int[4];
        _expiringCount = 0;
    }

    /// <summary>Told of each entry a re-layout moved, at its new index.</summary>
    protected virtual void OnMoved(ref TEntry entry, int index)
    {
    }

    private static ulong Reverse(ulong v)
    {
        v = ((v >> 1) & 0x5555555555555555UL) | ((v & 0x5555555555555555UL) << 1);
        v = ((v >> 2) & 0x3333333333333333UL) | ((v & 0x3333333333333333UL) << 2);
        v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FUL) | ((v & 0x0F0F0F0F0F0F0F0FUL) << 4);
        return System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v);
    }

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
        _pages[_pageCount++] = new TEntry[PageSize];
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

    // Re-lays the entries out densely with a new bucket count, dropping free entries so that the pages shrink.
    private void Relayout(int bucketCount)
    {
        var capacity = Math.Max(MinBuckets, Occupied);
        TEntry[][] pages;
        if (capacity <= PageSize)
        {
            pages = [new TEntry[(int)BitOperations.RoundUpToPowerOf2((uint)capacity)]];
            capacity = pages[0].Length;
        }
        else
        {
            pages = new TEntry[(capacity + PageMask) >> PageBits][];
            for (var p = 0; p < pages.Length; p++)
                pages[p] = new TEntry[PageSize];
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

            OnMoved(ref e, n);
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
}

namespace Estoraje.Storage.Log;

/// <summary>
/// A cached value. The key directory entry points at it through <see cref="Slot"/>; the cache's queues own it.
/// </summary>
internal sealed class CacheNode
{
    public CacheNode(int hash, byte[] value, int charge)
    {
        Hash = hash;
        Value = value;
        Charge = charge;
    }

    /// <summary>The key's hash (what the ghost queue remembers).</summary>
    public int Hash { get; }

    /// <summary>Its place in the key directory's cache slot table, which leads back to the entry on eviction.</summary>
    public int Slot { get; set; }

    /// <summary>The value, or null once the node is dropped (it leaves its queue when it reaches the tail).</summary>
    public byte[]? Value { get; set; }

    /// <summary>Bytes charged to the budget: the value's array and the node's own overhead.</summary>
    public int Charge { get; set; }

    /// <summary>
    /// Accesses since insertion or the last second chance, capped at 3 (two bits in the paper). A field, so that a
    /// pipelined read can prefetch the line a hit will bump (<see cref="KeyDirectory.PrefetchCached"/>).
    /// </summary>
    public byte Frequency;

    public bool InMain { get; set; }
}

/// <summary>
/// S3-FIFO (Yang, Zhang, Qiu, Yue, Rashmi, "FIFO queues are all you need for cache eviction", SOSP 2023):
/// a small FIFO (10% of the budget) that new values enter, a main FIFO with CLOCK-style second chances,
/// and a ghost FIFO of recently evicted keys. A value read at least once while in the small queue moves
/// to main; one that was not goes, as a key only, to the ghost queue, and if it comes back soon it enters
/// main directly. One-hit wonders (a scan, a burst of keys written once) therefore pass through the small
/// queue without pushing hot values out of main. A hit only bumps a counter: no list reordering.
/// One instance per store shard, guarded by that shard's lock.
/// </summary>
internal sealed class S3FifoCache
{
    // A node object (header, a reference, ints: 40 bytes), its place in the key directory's cache slot table (two
    // references and an int: the node, its value, the owner) and the value array's header.
    public const int NodeOverhead = 40 + 20 + 24;

    private const int MaxFrequency = 3;

    private readonly Queue<CacheNode> _small = new();
    private readonly Queue<CacheNode> _main = new();
    private readonly Queue<int> _ghost = new();
    private readonly Dictionary<int, int> _ghostCounts = [];
    private readonly long _budget;
    private readonly long _smallTarget;
    private readonly Action<CacheNode> _evicted;
    private long _smallBytes;
    private long _mainBytes;
    private long _liveBytes;

    /// <param name="budget">Bytes the cache may hold.</param>
    /// <param name="evicted">Told of every node that leaves the cache while still current, so its owner can drop the reference.</param>
    public S3FifoCache(long budget, Action<CacheNode> evicted)
    {
        _budget = Math.Max(0, budget);
        _smallTarget = _budget / 10;
        _evicted = evicted;
    }

    /// <summary>Bytes charged against the budget: current values and dropped nodes not yet dequeued.</summary>
    public long Bytes => _smallBytes + _mainBytes;

    /// <summary>Bytes of current values and their nodes (what INFO reports).</summary>
    public long LiveBytes => _liveBytes;

    /// <summary>Hits and misses counted by the store.</summary>
    public long Hits { get; set; }

    public long Misses { get; set; }

    /// <summary>Caches a value; returns its node, or null when the value is too large to be worth a place.</summary>
    public CacheNode? Insert(int hash, byte[] value, CacheNode? replacing)
    {
        var charge = value.Length + NodeOverhead;
        // A value above a quarter of the budget would flush a large part of the cache for one key.
        if (charge > _budget / 4)
        {
            if (replacing is not null)
                Drop(replacing);
            return null;
        }

        var node = new CacheNode(hash, value, charge);
        if (replacing is { Value: not null })
        {
            // A new value of a cached key inherits its place: rewriting a hot key keeps it hot.
            node.InMain = replacing.InMain;
            node.Frequency = replacing.Frequency;
            Drop(replacing);
        }
        else if (ForgetGhost(hash))
        {
            node.InMain = true;
        }

        _liveBytes += charge;
        if (node.InMain)
        {
            _main.Enqueue(node);
            _mainBytes += charge;
        }
        else
        {
            _small.Enqueue(node);
            _smallBytes += charge;
        }

        EvictOverBudget();
        return node;
    }

    /// <summary>
    /// Gives a cached node a new value of its key in place: the node keeps its queue, its place in it and its
    /// frequency (rewriting a hot key keeps it hot). Returns false, the node dropped, when the value is too large
    /// to be worth a place; the node may also be evicted on the way, making room (its owner is then told).
    /// </summary>
    /// <remarks>
    /// An overwrite therefore allocates no node and leaves no dropped node in a queue: with a large budget, a
    /// node per write would pile up until the budget is reached, all of it reachable, for the GC to trace.
    /// </remarks>
    public bool Replace(CacheNode node, byte[] value)
    {
        var charge = value.Length + NodeOverhead;
        if (node.Value is null || charge > _budget / 4)
        {
            Drop(node);
            return false;
        }

        var delta = charge - node.Charge;
        node.Value = value;
        node.Charge = charge;
        _liveBytes += delta;
        if (node.InMain)
            _mainBytes += delta;
        else
            _smallBytes += delta;
        EvictOverBudget();
        return node.Value is not null;
    }

    /// <summary>Counts an access to a cached value.</summary>
    public static void Touch(CacheNode node)
    {
        if (node.Frequency < MaxFrequency)
            node.Frequency++;
    }

    /// <summary>
    /// Drops a node whose key changed or went away. Its value bytes are released now; its node overhead stays
    /// charged until it reaches the tail of its queue, so dropped nodes too make room for themselves.
    /// </summary>
    public void Drop(CacheNode node)
    {
        if (node.Value is null)
            return;
        _liveBytes -= node.Charge;
        var valueBytes = node.Charge - NodeOverhead;
        if (node.InMain)
            _mainBytes -= valueBytes;
        else
            _smallBytes -= valueBytes;
        node.Value = null;
    }

    public void Clear()
    {
        _small.Clear();
        _main.Clear();
        _ghost.Clear();
        _ghostCounts.Clear();
        _smallBytes = _mainBytes = _liveBytes = 0;
    }

    private void EvictOverBudget()
    {
        while (_smallBytes + _mainBytes > _budget)
        {
            if (_smallBytes > _smallTarget || _main.Count == 0)
                EvictSmall();
            else
                EvictMain();
        }
    }

    private void EvictSmall()
    {
        while (_small.Count > 0)
        {
            var t = _small.Dequeue();
            _smallBytes -= Charged(t);
            if (t.Value is null)
                return;
            if (t.Frequency > 0)
            {
                // Read while on probation: it earned a place in main.
                t.InMain = true;
                t.Frequency = 0;
                _main.Enqueue(t);
                _mainBytes += t.Charge;
                continue;
            }

            RememberGhost(t.Hash);
            _liveBytes -= t.Charge;
            t.Value = null;
            _evicted(t);
            return;
        }
    }

    private void EvictMain()
    {
        while (_main.Count > 0)
        {
            var t = _main.Dequeue();
            if (t.Value is not null && t.Frequency > 0)
            {
                t.Frequency--;
                _main.Enqueue(t);
                continue;
            }

            _mainBytes -= Charged(t);
            if (t.Value is not null)
            {
                _liveBytes -= t.Charge;
                t.Value = null;
                _evicted(t);
            }

            return;
        }
    }

    private static int Charged(CacheNode node) => node.Value is null ? NodeOverhead : node.Charge;

    // The ghost queue remembers as many keys as main holds values, as in the paper.
    private void RememberGhost(int hash)
    {
        _ghost.Enqueue(hash);
        _ghostCounts[hash] = _ghostCounts.GetValueOrDefault(hash) + 1;
        var limit = Math.Max(64, _main.Count);
        while (_ghost.Count > limit)
        {
            var old = _ghost.Dequeue();
            if (_ghostCounts.TryGetValue(old, out var n))
            {
                if (n <= 1)
                    _ghostCounts.Remove(old);
                else
                    _ghostCounts[old] = n - 1;
            }
        }
    }

    private bool ForgetGhost(int hash)
    {
        // The hash stays in the FIFO and may later end a newer ghost entry of the same hash early: at worst a key
        // enters the small queue instead of main, which costs a little hit ratio and never correctness.
        if (!_ghostCounts.TryGetValue(hash, out var n))
            return false;
        if (n <= 1)
            _ghostCounts.Remove(hash);
        else
            _ghostCounts[hash] = n - 1;
        return true;
    }
}

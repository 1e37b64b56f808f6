using Estoraje.Storage.Log;
using Xunit.Abstractions;

namespace Estoraje.Tests.Storage.Log;

public sealed class S3FifoCacheTests(ITestOutputHelper output)
{
    private const int ValueSize = 100;
    private const int Charge = ValueSize + S3FifoCache.NodeOverhead;

    [Fact]
    public void Hot_values_survive_a_scan_of_values_read_never()
    {
        var evicted = new List<CacheNode>();
        var cache = new S3FifoCache(120 * Charge, evicted.Add);
        var hot = new List<CacheNode>();
        for (var i = 0; i < 50; i++)
        {
            var node = Insert(cache, i)!;
            S3FifoCache.Touch(node);
            hot.Add(node);
        }

        for (var i = 1000; i < 3000; i++)
        {
            Insert(cache, i);
            // The hot set keeps being read while the scan goes on.
            if (i % 20 == 0)
            {
                foreach (var node in hot)
                    S3FifoCache.Touch(node);
            }
        }

        Assert.All(hot, node => Assert.NotNull(node.Value));
        Assert.True(cache.Bytes <= 120 * Charge);
        Assert.DoesNotContain(evicted, hot.Contains);
    }

    [Fact]
    public void Charged_bytes_never_exceed_the_budget_and_every_eviction_is_reported()
    {
        var evicted = new HashSet<CacheNode>();
        var cache = new S3FifoCache(50 * Charge, node => Assert.True(evicted.Add(node)));
        var inserted = new List<CacheNode>();
        var random = new Random(5);
        for (var i = 0; i < 5000; i++)
        {
            var node = Insert(cache, random.Next(400));
            if (node is not null)
                inserted.Add(node);
            if (random.Next(3) == 0 && inserted.Count > 0)
                S3FifoCache.Touch(inserted[random.Next(inserted.Count)]);
            Assert.InRange(cache.Bytes, 0, 50 * Charge);
        }

        foreach (var node in inserted)
            Assert.True(node.Value is not null || evicted.Contains(node));
        Assert.Equal(inserted.Count(n => n.Value is not null) * (long)Charge, cache.LiveBytes);
    }

    [Fact]
    public void A_key_evicted_unread_and_inserted_again_soon_enters_the_main_queue()
    {
        var cache = new S3FifoCache(20 * Charge, _ => { });
        var first = Insert(cache, 1)!;
        for (var i = 100; i < 200 && first.Value is not null; i++)
            Insert(cache, i);
        Assert.Null(first.Value);

        var again = Insert(cache, 1)!;

        Assert.True(again.InMain);
    }

    [Fact]
    public void Overwrites_of_cached_keys_reuse_their_nodes_and_charge_only_the_new_values()
    {
        var evicted = new List<CacheNode>();
        var cache = new S3FifoCache(100 * Charge, evicted.Add);
        var nodes = new CacheNode[10];
        for (var i = 0; i < nodes.Length; i++)
            nodes[i] = Insert(cache, i)!;

        for (var round = 0; round < 1000; round++)
        {
            foreach (var node in nodes)
                Assert.True(cache.Replace(node, new byte[ValueSize + round % 3]));
        }

        Assert.Empty(evicted);
        var expected = nodes.Sum(n => (long)n.Value!.Length + S3FifoCache.NodeOverhead);
        Assert.Equal(expected, cache.LiveBytes);
        Assert.Equal(expected, cache.Bytes);
    }

    [Fact]
    public void A_replacement_that_overflows_the_budget_evicts_and_reports_what_it_pushes_out()
    {
        var evicted = new HashSet<CacheNode>();
        var cache = new S3FifoCache(20 * Charge, node => Assert.True(evicted.Add(node)));
        var nodes = new List<CacheNode>();
        for (var i = 0; i < 20; i++)
            nodes.Add(Insert(cache, i)!);

        var grown = nodes[^1];
        Assert.True(cache.Replace(grown, new byte[4 * ValueSize]));

        Assert.InRange(cache.Bytes, 0, 20 * Charge);
        Assert.NotEmpty(evicted);
        Assert.All(nodes, n => Assert.True(n.Value is not null || evicted.Contains(n)));
        Assert.False(cache.Replace(grown, new byte[20 * Charge]));
        Assert.Null(grown.Value);
    }

    [Fact]
    public void Value_larger_than_a_quarter_of_the_budget_is_not_cached()
    {
        var cache = new S3FifoCache(4 * Charge, _ => { });
        Assert.Null(cache.Insert(1, new byte[2 * Charge], null));
        Assert.Equal(0, cache.Bytes);
    }

    [Theory]
    [InlineData(0.99, 0.10)]
    [InlineData(0.99, 0.01)]
    [InlineData(0.8, 0.10)]
    public void Hit_ratio_on_a_zipf_trace_beats_lru_of_the_same_size(double alpha, double cacheFraction)
    {
        const int Objects = 20_000;
        const int Requests = 400_000;
        var trace = ZipfTrace(Objects, Requests, alpha, seed: 42);
        var capacity = (int)(Objects * cacheFraction);

        var nodes = new CacheNode?[Objects];
        var cache = new S3FifoCache((long)capacity * Charge, _ => { });
        var s3Hits = 0;
        foreach (var key in trace)
        {
            if (nodes[key] is { Value: not null } node)
            {
                S3FifoCache.Touch(node);
                s3Hits++;
            }
            else
            {
                nodes[key] = Insert(cache, key);
            }
        }

        var lru = new LinkedList<int>();
        var lruNodes = new LinkedListNode<int>?[Objects];
        var lruHits = 0;
        foreach (var key in trace)
        {
            if (lruNodes[key] is { } node)
            {
                lru.Remove(node);
                lru.AddFirst(node);
                lruHits++;
                continue;
            }

            if (lru.Count == capacity)
            {
                lruNodes[lru.Last!.Value] = null;
                lru.RemoveLast();
            }

            lruNodes[key] = lru.AddFirst(key);
        }

        var s3 = (double)s3Hits / Requests;
        var lruRatio = (double)lruHits / Requests;
        output.WriteLine($"zipf({alpha}), cache {cacheFraction:P0} of {Objects} objects: S3-FIFO {s3:P2}, LRU {lruRatio:P2}");
        Assert.True(s3 > lruRatio, $"S3-FIFO {s3:P2} vs LRU {lruRatio:P2}");
    }

    private static int[] ZipfTrace(int objects, int requests, double alpha, int seed)
    {
        var cdf = new double[objects];
        double sum = 0;
        for (var i = 0; i < objects; i++)
        {
            sum += 1 / Math.Pow(i + 1, alpha);
            cdf[i] = sum;
        }

        // Ranks are shuffled over keys, so popularity is not correlated with key order.
        var keys = Enumerable.Range(0, objects).ToArray();
        var random = new Random(seed);
        random.Shuffle(keys);
        var trace = new int[requests];
        for (var r = 0; r < requests; r++)
        {
            var rank = Array.BinarySearch(cdf, random.NextDouble() * sum);
            trace[r] = keys[rank < 0 ? ~rank : rank];
        }

        return trace;
    }

    private static CacheNode? Insert(S3FifoCache cache, int key) =>
        cache.Insert(key, new byte[ValueSize], null);
}

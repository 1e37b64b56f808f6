using Estoraje.Storage.Log;

namespace Estoraje.Tests.Storage.Log;

public sealed class S3FifoCacheTests
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
    public void Value_larger_than_a_quarter_of_the_budget_is_not_cached()
    {
        var cache = new S3FifoCache(4 * Charge, _ => { });
        Assert.Null(cache.Insert([1], 1, new byte[2 * Charge], null));
        Assert.Equal(0, cache.Bytes);
    }

    private static CacheNode? Insert(S3FifoCache cache, int key) =>
        cache.Insert(BitConverter.GetBytes(key), key, new byte[ValueSize], null);
}

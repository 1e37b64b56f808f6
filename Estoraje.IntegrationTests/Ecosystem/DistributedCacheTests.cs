using System.Diagnostics;
using System.Text;
using Estoraje.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace Estoraje.IntegrationTests.Ecosystem;

/// <summary>
/// Microsoft.Extensions.Caching.StackExchangeRedis (<see cref="IDistributedCache"/>: HMSET/HSET, HMGET, EXPIRE,
/// UNLINK) and HybridCache over it, unchanged, against one node and against a cluster behind HAProxy.
/// </summary>
public sealed class DistributedCacheTests(EcosystemFixture servers) : IClassFixture<EcosystemFixture>
{
    public static TheoryData<string> Deployments => EcosystemFixture.Deployments;

    [Theory]
    [MemberData(nameof(Deployments))]
    public async Task Set_get_refresh_and_remove_work_with_absolute_and_sliding_expiry(string deployment)
    {
        await using var provider = Services(deployment, "dc:" + deployment + ":");
        var cache = provider.GetRequiredService<IDistributedCache>();
        var payload = Encoding.UTF8.GetBytes("payload with bytes \u0000\u00ff and more");

        await cache.SetAsync("plain", payload, new DistributedCacheEntryOptions());
        Assert.Equal(payload, await cache.GetAsync("plain"));
        Assert.Null(await cache.GetAsync("missing"));

        // Absolute expiry: the entry is served, then gone once its time has passed (and not before).
        var started = Stopwatch.StartNew();
        await cache.SetAsync("absolute", payload, new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(2) });
        Assert.Equal(payload, await cache.GetAsync("absolute"));
        await WaitUntilAsync(async () => await cache.GetAsync("absolute") is null, TimeSpan.FromSeconds(10));
        Assert.True(started.Elapsed >= TimeSpan.FromSeconds(1.9), $"gone after {started.Elapsed}");

        // Sliding expiry: refreshed every 0.5 s it outlives its 2 s window several times over; left alone it expires.
        await cache.SetAsync("sliding", payload, new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(2) });
        var slid = Stopwatch.StartNew();
        while (slid.Elapsed < TimeSpan.FromSeconds(5))
        {
            await cache.RefreshAsync("sliding");
            Assert.Equal(payload, await cache.GetAsync("sliding"));
            await Task.Delay(500);
        }

        var idle = Stopwatch.StartNew();
        await WaitUntilAsync(async () => await ExistsAsync(deployment, "dc:" + deployment + ":sliding") == 0, TimeSpan.FromSeconds(10));
        Assert.True(idle.Elapsed >= TimeSpan.FromSeconds(1), $"gone {idle.Elapsed} after the last refresh");

        // Both expiries: the sliding window cannot stretch past the absolute one.
        await cache.SetAsync("both", payload, new DistributedCacheEntryOptions
        {
            AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(60),
            SlidingExpiration = TimeSpan.FromSeconds(30),
        });
        var ttl = await TtlAsync(deployment, "dc:" + deployment + ":both");
        Assert.InRange(ttl, 25, 30);

        // The library keeps each entry as a hash (data, absexp, sldexp).
        await using (var connection = await RespConnection.ConnectAsync(servers.PortOf(deployment)))
        {
            Assert.Equal("+hash\r\n", await connection.CommandAsync("TYPE", "dc:" + deployment + ":plain"));
            Assert.Equal(payload, RespConnection.Bytes.GetBytes((string)RespReply.Parse(await connection.CommandAsync("HGET", "dc:" + deployment + ":plain", "data"))!));
        }

        await cache.RemoveAsync("plain");
        Assert.Null(await cache.GetAsync("plain"));
        Assert.Equal(0, await ExistsAsync(deployment, "dc:" + deployment + ":plain"));
    }

    [Theory]
    [MemberData(nameof(Deployments))]
    public async Task Hybrid_cache_instances_share_entries_through_the_server_and_tags_invalidate_them(string deployment)
    {
        var prefix = "hc:" + deployment + ":";
        await using var first = Services(deployment, prefix, hybrid: true);
        await using var second = Services(deployment, prefix, hybrid: true);
        var a = first.GetRequiredService<HybridCache>();
        var b = second.GetRequiredService<HybridCache>();
        var calls = 0;

        ValueTask<string> Factory(string value)
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult(value);
        }

        Assert.Equal("v1", await a.GetOrCreateAsync("item", _ => Factory("v1"), tags: ["group"]));
        Assert.Equal("other", await a.GetOrCreateAsync("untagged", _ => Factory("other")));
        Assert.Equal(2, calls);

        // HybridCache hands the value back before its write to the server (L2) completes: wait for that write.
        await WaitUntilAsync(async () => await ExistsAsync(deployment, prefix + "item") == 1 &&
                                         await ExistsAsync(deployment, prefix + "untagged") == 1, TimeSpan.FromSeconds(10));

        // Another instance (another process in real life) finds both in the server: no factory call.
        Assert.Equal("v1", await b.GetOrCreateAsync("item", _ => Factory("wrong"), tags: ["group"]));
        Assert.Equal("other", await b.GetOrCreateAsync("untagged", _ => Factory("wrong")));
        Assert.Equal(2, calls);

        await a.RemoveByTagAsync("group");

        // A third, fresh instance must not be served the invalidated entry from the server; the untagged one stays.
        await using var third = Services(deployment, prefix, hybrid: true);
        var c = third.GetRequiredService<HybridCache>();
        Assert.Equal("v2", await c.GetOrCreateAsync("item", _ => Factory("v2"), tags: ["group"]));
        Assert.Equal("other", await c.GetOrCreateAsync("untagged", _ => Factory("wrong")));
        Assert.Equal(3, calls);

        await a.RemoveAsync("untagged");
        await using var fourth = Services(deployment, prefix, hybrid: true);
        Assert.Equal("again", await fourth.GetRequiredService<HybridCache>().GetOrCreateAsync("untagged", _ => Factory("again")));
    }

    private ServiceProvider Services(string deployment, string prefix, bool hybrid = false)
    {
        var services = new ServiceCollection();
        services.AddStackExchangeRedisCache(options =>
        {
            options.Configuration = $"127.0.0.1:{servers.PortOf(deployment)}";
            options.InstanceName = prefix;
        });
        if (hybrid)
            services.AddHybridCache();
        return services.BuildServiceProvider();
    }

    private async Task<long> TtlAsync(string deployment, string key)
    {
        await using var connection = await RespConnection.ConnectAsync(servers.PortOf(deployment));
        return (long)RespReply.Parse(await connection.CommandAsync("TTL", key))!;
    }

    private async Task<long> ExistsAsync(string deployment, string key)
    {
        await using var connection = await RespConnection.ConnectAsync(servers.PortOf(deployment));
        return (long)RespReply.Parse(await connection.CommandAsync("EXISTS", key))!;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < timeout, "The condition did not hold in time.");
            await Task.Delay(50);
        }
    }
}

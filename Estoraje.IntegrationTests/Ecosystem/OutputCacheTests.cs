using System.Text;
using Estoraje.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.DependencyInjection;

namespace Estoraje.IntegrationTests.Ecosystem;

/// <summary>
/// ASP.NET Core's Redis output cache store (Microsoft.AspNetCore.OutputCaching.StackExchangeRedis) against one
/// Estoraje node and a cluster behind HAProxy: entries with tags and expiry (SET with EX, ZADD GT on the tag index, ZADD per tag), reads, and
/// eviction by tag (ZSCAN, then UNLINK and ZREM per entry). Captured from version 10.0.15: GET, SETEX, PSETEX,
/// ZADD GT, ZADD, ZSCAN ... COUNT 250, UNLINK, ZREM, after StackExchange.Redis's handshake.
/// </summary>
public sealed class OutputCacheTests(EcosystemFixture servers) : IClassFixture<EcosystemFixture>
{
    public static TheoryData<string> Deployments => EcosystemFixture.Deployments;

    [Theory]
    [MemberData(nameof(Deployments))]
    public async Task Entries_are_stored_read_evicted_by_tag_and_expire(string deployment)
    {
        var port = servers.PortOf(deployment);
        var services = new ServiceCollection();
        services.AddStackExchangeRedisOutputCache(options => options.Configuration = $"127.0.0.1:{port},abortConnect=false");
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IOutputCacheStore>();

        await store.SetAsync("page/1", Bytes("one"), ["news", "front"], TimeSpan.FromMinutes(5), default);
        await store.SetAsync("page/2", Bytes("two"), ["news"], TimeSpan.FromMinutes(5), default);
        await store.SetAsync("page/3", Bytes("three"), ["sport"], TimeSpan.FromMinutes(5), default);
        await store.SetAsync("page/short", Bytes("short"), ["sport"], TimeSpan.FromMilliseconds(300), default);

        Assert.Equal("one", Text(await store.GetAsync("page/1", default)));
        Assert.Equal("three", Text(await store.GetAsync("page/3", default)));
        Assert.Null(await store.GetAsync("page/none", default));

        // Tags are written fire-and-forget: the index holds both news entries once the writes land.
        await using var raw = await RespConnection.ConnectAsync(port);
        await WaitUntilAsync(async () => await raw.CommandAsync("ZCARD", "__MSOCT_news") == ":2\r\n");
        Assert.Equal(":3\r\n", await raw.CommandAsync("ZCARD", "__MSOCT"));
        // ZADD GT keeps each tag's latest expiry: the short entry's earlier one did not lower "sport".
        await WaitUntilAsync(async () => await raw.CommandAsync("ZCARD", "__MSOCT_sport") == ":2\r\n");
        var sport = RespReply.Parse(await raw.CommandAsync("ZRANGE", "__MSOCT_sport", "0", "-1", "WITHSCORES")) as List<object?>;
        Assert.Equal(["page/short", "page/3"], [sport![0], sport[2]]);
        Assert.Equal(sport[3], RespReply.Parse(await raw.CommandAsync("ZSCORE", "__MSOCT", "sport")));

        await store.EvictByTagAsync("news", default);
        await WaitUntilAsync(async () => await store.GetAsync("page/2", default) is null);
        Assert.Null(await store.GetAsync("page/1", default));
        Assert.Equal("three", Text(await store.GetAsync("page/3", default)));
        await WaitUntilAsync(async () => await raw.CommandAsync("EXISTS", "__MSOCT_news") == ":0\r\n");

        await WaitUntilAsync(async () => await store.GetAsync("page/short", default) is null);
        Assert.Equal("three", Text(await store.GetAsync("page/3", default)));
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string? Text(byte[]? bytes) => bytes is null ? null : Encoding.UTF8.GetString(bytes);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not hold within 10 s.");
            await Task.Delay(20);
        }
    }
}

using Estoraje.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>
/// Three nodes registered in a real etcd (N=3, W=2) behind a real HAProxy: clients spread over every node run
/// optimistic WATCH/MULTI/EXEC increments of one key at once; none is lost, none counted twice.
/// </summary>
public sealed class TransactionLoadTests()
    : EtcdClusterTest(3, "transactions", "--replicas", "3", "--write-quorum", "2", "--cluster-secret", "transactions-secret")
{
    public override Task InitializeAsync() => StartAllBehindHaproxyAsync();

    [Fact]
    public async Task Concurrent_optimistic_increments_through_haproxy_end_with_the_number_of_successful_execs()
    {
        var succeeded = await OptimisticCounter.RunAsync(Proxy!.Port, "load:counter", clients: 9, attempts: 40);

        Assert.InRange(succeeded, 40, 9 * 40);
        Assert.Equal(succeeded, await OptimisticCounter.ReadAsync(Proxy.Port, "load:counter"));
        foreach (var node in Running)
            Assert.Equal(succeeded, await OptimisticCounter.ReadAsync(node.Port, "load:counter"));
    }

    [Theory]
    [InlineData(RedisProtocol.Resp2)]
    [InlineData(RedisProtocol.Resp3)]
    public async Task StackExchange_Redis_conditional_increments_through_haproxy_lose_no_update(RedisProtocol protocol)
    {
        var key = $"load:se:{protocol}";
        var clients = Enumerable.Range(0, 4).Select(client => Task.Run(async () =>
        {
            var options = new ConfigurationOptions { EndPoints = { { "127.0.0.1", Proxy!.Port } }, Protocol = protocol };
            await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
            var db = connection.GetDatabase();
            var succeeded = 0;
            for (var i = 0; i < 30; i++)
            {
                var current = (long?)(await db.StringGetAsync(key)) ?? 0;
                var transaction = db.CreateTransaction();
                transaction.AddCondition(current == 0 ? Condition.KeyNotExists(key) : Condition.StringEqual(key, current));
                _ = transaction.StringSetAsync(key, current + 1);
                if (await transaction.ExecuteAsync())
                    succeeded++;
            }

            return succeeded;
        })).ToList();

        var total = (await Task.WhenAll(clients)).Sum();

        Assert.InRange(total, 30, 4 * 30);
        Assert.Equal(total, await OptimisticCounter.ReadAsync(Proxy!.Port, key));
    }

    [Fact]
    public async Task Keys_of_several_slots_get_crossslot_through_haproxy()
    {
        var options = new ConfigurationOptions { EndPoints = { { "127.0.0.1", Proxy!.Port } } };
        await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
        var db = connection.GetDatabase();

        var transaction = db.CreateTransaction();
        _ = transaction.StringSetAsync("load:cross:a", "1");
        _ = transaction.StringSetAsync("load:cross:b", "1");
        var error = await Assert.ThrowsAsync<RedisServerException>(() => transaction.ExecuteAsync());

        Assert.Equal("CROSSSLOT Keys in request don't hash to the same slot", error.Message);
        Assert.False(await db.KeyExistsAsync("load:cross:a"));
    }
}

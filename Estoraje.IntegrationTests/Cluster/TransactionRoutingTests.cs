using Estoraje.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>
/// Transactions on three nodes holding three copies of every key (N=3, W=2): a transaction of one slot runs on
/// the slot's primary, whichever node the client talks to, and its writes reach every replica; keys of several
/// slots get CROSSSLOT; WATCH sees writes made through any node.
/// </summary>
public sealed class TransactionRoutingTests(ReplicatedClusterFixture cluster) : IClassFixture<ReplicatedClusterFixture>
{
    private const string CrossSlot = "-CROSSSLOT Keys in request don't hash to the same slot\r\n";

    [Fact]
    public async Task A_transaction_sent_to_a_node_that_does_not_lead_its_slot_runs_on_the_primary_and_every_replica_holds_its_writes()
    {
        var tag = await TagLedByAsync("n1", "forwarded");
        await using var client = await RespConnection.ConnectAsync(cluster.Nodes[0].Port);

        Assert.Equal("+OK\r\n", await client.CommandAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await client.CommandAsync("SET", $"{tag}a", "10"));
        Assert.Equal("+QUEUED\r\n", await client.CommandAsync("INCRBY", $"{tag}a", "5"));
        Assert.Equal("+QUEUED\r\n", await client.CommandAsync("SET", $"{tag}b", "x"));
        Assert.Equal("+QUEUED\r\n", await client.CommandAsync("GET", $"{tag}a"));
        Assert.Equal("*4\r\n+OK\r\n:15\r\n+OK\r\n$2\r\n15\r\n", await client.CommandAsync("EXEC"));

        // The reply came once W copies held the writes; the third copy follows.
        Assert.Equal(":1\r\n", await client.CommandAsync("WAIT", "1", "0"));
        for (var node = 0; node < 3; node++)
        {
            await ClusterNodes.EventuallyAsync(async () => await cluster.LocalGetAsync(node, $"{tag}a") == "$2\r\n15\r\n",
                TimeSpan.FromSeconds(10), () => Task.FromResult($"node {node} lacks the transaction's first write"));
            Assert.Equal("$1\r\nx\r\n", await cluster.LocalGetAsync(node, $"{tag}b"));
        }
    }

    [Fact]
    public async Task Keys_of_several_slots_get_crossslot_at_exec_and_the_transaction_is_discarded()
    {
        await using var client = await RespConnection.ConnectAsync(cluster.Nodes[2].Port);

        Assert.Equal("+OK\r\n", await client.CommandAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await client.CommandAsync("SET", "cross:a", "1"));
        Assert.Equal("+QUEUED\r\n", await client.CommandAsync("SET", "cross:b", "1"));
        Assert.Equal(CrossSlot, await client.CommandAsync("EXEC"));
        Assert.Equal("-ERR EXEC without MULTI\r\n", await client.CommandAsync("EXEC"));
        Assert.Equal(":0\r\n", await client.CommandAsync("EXISTS", "cross:a", "cross:b"));

        // A watched key counts as a key of the transaction; a command over the whole keyspace spans every slot.
        Assert.Equal("+OK\r\n", await client.CommandAsync("WATCH", "cross:a"));
        Assert.Equal("+OK\r\n", await client.CommandAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await client.CommandAsync("SET", "cross:b", "1"));
        Assert.Equal(CrossSlot, await client.CommandAsync("EXEC"));
        Assert.Equal("+OK\r\n", await client.CommandAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await client.CommandAsync("DBSIZE"));
        Assert.Equal(CrossSlot, await client.CommandAsync("EXEC"));

        // Without keys a transaction runs where it is.
        Assert.Equal("+OK\r\n", await client.CommandAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await client.CommandAsync("CLIENT", "SETNAME", "keyless"));
        Assert.Equal("+QUEUED\r\n", await client.CommandAsync("ECHO", "here"));
        Assert.Equal("*2\r\n+OK\r\n$4\r\nhere\r\n", await client.CommandAsync("EXEC"));
        Assert.Equal("$7\r\nkeyless\r\n", await client.CommandAsync("CLIENT", "GETNAME"));
    }

    [Theory]
    [InlineData("2")]
    [InlineData("3")]
    public async Task A_watched_key_written_through_another_node_makes_exec_return_null(string protocol)
    {
        var key = $"{await TagLedByAsync("n2", $"watched{protocol}")}k";
        await using var watcher = await RespConnection.ConnectAsync(cluster.Nodes[0].Port);
        await using var other = await RespConnection.ConnectAsync(cluster.Nodes[1].Port);
        Assert.StartsWith(protocol == "3" ? "%" : "*", await watcher.CommandAsync("HELLO", protocol), StringComparison.Ordinal);
        Assert.Equal("+OK\r\n", await watcher.CommandAsync("SET", key, "before"));

        Assert.Equal("+OK\r\n", await watcher.CommandAsync("WATCH", key));
        Assert.Equal("+OK\r\n", await other.CommandAsync("SET", key, "other"));
        Assert.Equal("+OK\r\n", await watcher.CommandAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await watcher.CommandAsync("SET", key, "mine"));
        Assert.Equal(protocol == "3" ? "_\r\n" : "*-1\r\n", await watcher.CommandAsync("EXEC"));
        Assert.Equal("$5\r\nother\r\n", await watcher.CommandAsync("GET", key));

        Assert.Equal("+OK\r\n", await watcher.CommandAsync("WATCH", key));
        Assert.Equal("+OK\r\n", await watcher.CommandAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await watcher.CommandAsync("SET", key, "mine"));
        Assert.Equal("*1\r\n+OK\r\n", await watcher.CommandAsync("EXEC"));
        Assert.Equal("$4\r\nmine\r\n", await other.CommandAsync("GET", key));
    }

    [Fact]
    public async Task Pipelined_watch_and_exec_through_a_node_that_does_not_lead_the_key_keep_the_order_they_were_sent_in()
    {
        var key = $"{await TagLedByAsync("n1", "pipelined")}k";
        await using var client = await RespConnection.ConnectAsync(cluster.Nodes[0].Port);

        for (var round = 1; round <= 20; round++)
        {
            // WATCH's lookup on the primary is still under way when EXEC is read: EXEC and the GET after it wait for it.
            await client.SendAsync(Pipeline(["SET", key, $"{round * 10}"], ["WATCH", key], ["MULTI"], ["INCR", key], ["EXEC"], ["GET", key]));
            Assert.Equal("+OK\r\n", await client.ReadReplyAsync());
            Assert.Equal("+OK\r\n", await client.ReadReplyAsync());
            Assert.Equal("+OK\r\n", await client.ReadReplyAsync());
            Assert.Equal("+QUEUED\r\n", await client.ReadReplyAsync());
            Assert.Equal($"*1\r\n:{round * 10 + 1}\r\n", await client.ReadReplyAsync());
            Assert.Equal($"${$"{round * 10 + 1}".Length}\r\n{round * 10 + 1}\r\n", await client.ReadReplyAsync());
        }
    }

    [Fact]
    public async Task A_connection_command_in_a_transaction_run_by_another_node_is_refused_and_nothing_runs()
    {
        var key = $"{await TagLedByAsync("n2", "connection")}k";
        await using var client = await RespConnection.ConnectAsync(cluster.Nodes[0].Port);

        Assert.Equal("+OK\r\n", await client.CommandAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await client.CommandAsync("CLIENT", "SETNAME", "remote"));
        Assert.Equal("+QUEUED\r\n", await client.CommandAsync("SET", key, "1"));
        Assert.StartsWith("-ERR 'client|setname' in a transaction needs", await client.CommandAsync("EXEC"), StringComparison.Ordinal);
        Assert.Equal("$-1\r\n", await client.CommandAsync("CLIENT", "GETNAME"));
        Assert.Equal("$-1\r\n", await client.CommandAsync("GET", key));
    }

    [Theory]
    [InlineData(RedisProtocol.Resp2)]
    [InlineData(RedisProtocol.Resp3)]
    public async Task StackExchange_Redis_transactions_with_conditions_work_through_every_node(RedisProtocol protocol)
    {
        for (var node = 0; node < 3; node++)
        {
            var options = new ConfigurationOptions { EndPoints = { { "127.0.0.1", cluster.Nodes[node].Port } }, Protocol = protocol };
            await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
            var db = connection.GetDatabase();
            var key = $"{{se-tx:{protocol}:{node}}}";

            var create = db.CreateTransaction();
            create.AddCondition(Condition.KeyNotExists(key + "a"));
            _ = create.StringSetAsync(key + "a", "1");
            _ = create.StringSetAsync(key + "b", "1");
            Assert.True(await create.ExecuteAsync());

            var update = db.CreateTransaction();
            update.AddCondition(Condition.StringEqual(key + "a", "1"));
            var a = update.StringIncrementAsync(key + "a");
            var b = update.StringIncrementAsync(key + "b");
            Assert.True(await update.ExecuteAsync());
            Assert.Equal(2, await a);
            Assert.Equal(2, await b);

            var stale = db.CreateTransaction();
            stale.AddCondition(Condition.StringEqual(key + "a", "1"));
            _ = stale.StringSetAsync(key + "b", "stale");
            Assert.False(await stale.ExecuteAsync());
            Assert.Equal("2", await db.StringGetAsync(key + "b"));
        }
    }

    // A hash tag whose slot node `id` leads ("{prefix-n}").
    private async Task<string> TagLedByAsync(string id, string prefix)
    {
        await using var client = await RespConnection.ConnectAsync(cluster.Nodes[0].Port);
        for (var i = 0; ; i++)
        {
            var tag = $"{{{prefix}-{i}}}";
            var located = RespReply.AsMap(RespReply.Parse(await client.CommandAsync("ESTORAJE", "LOCATE", tag)));
            if ((string)located["primary"]! == id)
                return tag;
        }
    }

    private static byte[] Pipeline(params string[][] commands) => [.. commands.SelectMany(RespConnection.Encode)];
}

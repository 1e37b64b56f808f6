using System.Globalization;
using Estoraje.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>Three nodes with a fixed member list, three copies of every key, every copy acknowledged (N=3, W=3).</summary>
public sealed class ScriptClusterFixture : IAsyncLifetime
{
    public const string Secret = "script-secret";

    public StaticMembers Members { get; } = new(3, Secret);

    public List<EstorajeServerProcess> Nodes { get; } = [];

    public async Task InitializeAsync() =>
        Nodes.AddRange(await Task.WhenAll(Enumerable.Range(0, 3).Select(i => Members.StartAsync(i, "--replicas", "3", "--write-quorum", "3"))));

    /// <summary>A connection to node <paramref name="node"/>'s peer port, where commands run on that node only.</summary>
    public async Task<RespConnection> PeerLinkAsync(int node)
    {
        var link = await RespConnection.ConnectAsync(Members.Ports[node].Peer);
        Assert.Equal("+OK\r\n", await link.CommandAsync("ESTORAJE.PEER", Secret));
        return link;
    }

    /// <summary>A key of the form <paramref name="prefix"/>:n whose slot node <paramref name="node"/> leads.</summary>
    public async Task<string> KeyLedByAsync(int node, string prefix)
    {
        for (var i = 0; i < 10_000; i++)
        {
            var key = $"{prefix}:{i}";
            var located = RespReply.AsMap(await ClusterNodes.CommandAsync(Nodes[0].Port, "ESTORAJE", "LOCATE", key));
            if ((string)located["primary"]! == $"n{node}")
                return key;
        }

        throw new InvalidOperationException($"No key {prefix}:n is led by n{node}.");
    }

    public async Task DisposeAsync()
    {
        foreach (var node in Nodes)
            await node.DisposeAsync();
    }
}

/// <summary>
/// Scripts in a cluster: a script runs on the primary of its keys' slot whichever node the client talks to, its
/// writes are held by every replica when the client hears the reply, and the script cache is the cluster's.
/// </summary>
public sealed class ScriptClusterTests(ScriptClusterFixture cluster) : IClassFixture<ScriptClusterFixture>
{
    private const string WhereAmI = "return redis.call('info', 'cluster'):match('estoraje_node_id:(%S+)')";

    [Fact]
    public async Task A_script_sent_to_another_node_runs_on_its_keys_primary_and_its_writes_are_on_every_replica()
    {
        // {k} hashes as k does: both keys are in the slot of k, which n0 leads.
        var tag = "{" + await cluster.KeyLedByAsync(0, "script-writes") + "}";
        var keys = new[] { tag, tag + ":counter" };
        // Sent to n1 and n2, neither of them the primary: forwarded, it runs on n0.
        foreach (var via in new[] { 1, 2 })
        {
            await using var client = await RespConnection.ConnectAsync(cluster.Nodes[via].Port);
            Assert.Equal("$2\r\nn0\r\n", await client.CommandAsync("EVAL", WhereAmI, "1", keys[0]));
            var reply = await client.CommandAsync("EVAL",
                "redis.call('set', KEYS[1], ARGV[1]) redis.call('expire', KEYS[1], 600) return redis.call('incr', KEYS[2])",
                "2", keys[0], keys[1], $"via-n{via}");
            Assert.Equal(via == 1 ? ":1\r\n" : ":2\r\n", reply);

            for (var node = 0; node < 3; node++)
            {
                Assert.Equal($"$6\r\nvia-n{via}\r\n", await cluster.Members.LocalGetAsync(node, keys[0]));
                Assert.Equal(via == 1 ? "$1\r\n1\r\n" : "$1\r\n2\r\n", await cluster.Members.LocalGetAsync(node, keys[1]));
            }
        }

        await using (var replica = await cluster.PeerLinkAsync(2))
            Assert.InRange(long.Parse((await replica.CommandAsync("TTL", keys[0]))[1..^2], CultureInfo.InvariantCulture), 500, 600);
    }

    [Fact]
    public async Task Keys_of_several_slots_get_CROSSSLOT_and_an_undeclared_key_of_another_node_is_refused()
    {
        var here = await cluster.KeyLedByAsync(0, "script-here");
        var elsewhere = await cluster.KeyLedByAsync(1, "script-elsewhere");
        await using var client = await RespConnection.ConnectAsync(cluster.Nodes[2].Port);

        Assert.Equal("-CROSSSLOT Keys in request don't hash to the same slot\r\n", await client.CommandAsync("EVAL", "return 1", "2", here, elsewhere));
        var refused = await client.CommandAsync("EVAL", "return redis.call('set', ARGV[1], 'x')", "1", here, elsewhere);
        Assert.StartsWith("-ERR Script attempted to access a non local key in a cluster node script: ", refused, StringComparison.Ordinal);
        Assert.Equal("$-1\r\n", await client.CommandAsync("GET", elsewhere));
        // A script without keys runs where the client is connected.
        Assert.Equal("$2\r\nn2\r\n", await client.CommandAsync("EVAL", WhereAmI, "0"));
    }

    [Fact]
    public async Task SCRIPT_LOAD_on_one_node_makes_EVALSHA_work_on_every_node_and_SCRIPT_FLUSH_empties_them_all()
    {
        const string Body = "return 'loaded on n0: ' .. ARGV[1]";
        await using var n0 = await RespConnection.ConnectAsync(cluster.Nodes[0].Port);
        var loaded = await n0.CommandAsync("SCRIPT", "LOAD", Body);
        var sha = loaded[(loaded.IndexOf('\n', StringComparison.Ordinal) + 1)..^2];

        for (var node = 0; node < 3; node++)
        {
            await using var client = await RespConnection.ConnectAsync(cluster.Nodes[node].Port);
            Assert.Equal("*2\r\n:1\r\n:0\r\n", await client.CommandAsync("SCRIPT", "EXISTS", sha, new string('f', 40)));
            Assert.Equal($"$15\r\nloaded on n0: {node}\r\n", await client.CommandAsync("EVALSHA", sha, "0", node.ToString(CultureInfo.InvariantCulture)));
            // Each node holds it itself, not only by asking the others.
            await using var link = await cluster.PeerLinkAsync(node);
            Assert.Equal("*1\r\n:1\r\n", await link.CommandAsync("SCRIPT", "EXISTS", sha));
        }

        await using var n1 = await RespConnection.ConnectAsync(cluster.Nodes[1].Port);
        Assert.Equal("+OK\r\n", await n1.CommandAsync("SCRIPT", "FLUSH"));
        Assert.Equal("*1\r\n:0\r\n", await n0.CommandAsync("SCRIPT", "EXISTS", sha));
        Assert.Equal("-NOSCRIPT No matching script. Please use EVAL.\r\n", await n0.CommandAsync("EVALSHA", sha, "0", "x"));
    }

    [Fact]
    public async Task EVALSHA_of_a_script_only_another_node_holds_fetches_it_and_runs_in_the_clients_order()
    {
        // Loaded through n2's peer port: n2 alone holds it (a peer's SCRIPT LOAD is not spread).
        const string Body = "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1]) .. ' on n2 only'";
        string sha;
        await using (var link = await cluster.PeerLinkAsync(2))
            sha = (await link.CommandAsync("SCRIPT", "LOAD", Body))[5..^2];
        await using (var n0Link = await cluster.PeerLinkAsync(0))
            Assert.Equal("*1\r\n:0\r\n", await n0Link.CommandAsync("SCRIPT", "EXISTS", sha));

        var key = await cluster.KeyLedByAsync(1, "fetched");
        await using var client = await RespConnection.ConnectAsync(cluster.Nodes[0].Port);
        // Pipelined: the GET after the EVALSHA must see its write, though the script is fetched first.
        byte[] batch = [.. RespConnection.Encode("EVALSHA", sha, "1", key, "first"), .. RespConnection.Encode("GET", key),
            .. RespConnection.Encode("EVALSHA", new string('0', 40), "0")];
        await client.SendAsync(batch);
        Assert.Equal("$16\r\nfirst on n2 only\r\n", await client.ReadReplyAsync());
        Assert.Equal("$5\r\nfirst\r\n", await client.ReadReplyAsync());
        Assert.Equal("-NOSCRIPT No matching script. Please use EVAL.\r\n", await client.ReadReplyAsync());
        for (var node = 0; node < 3; node++)
            Assert.Equal("$5\r\nfirst\r\n", await cluster.Members.LocalGetAsync(node, key));

        // n0 forwarded that one whole to n1, the key's primary, which fetched it. Now a key n0 leads: n0 fetches.
        await using (var n0Link = await cluster.PeerLinkAsync(0))
            Assert.Equal("*1\r\n:0\r\n", await n0Link.CommandAsync("SCRIPT", "EXISTS", sha));
        var local = await cluster.KeyLedByAsync(0, "fetched-here");
        byte[] second = [.. RespConnection.Encode("EVALSHA", sha, "1", local, "again"), .. RespConnection.Encode("GET", local)];
        await client.SendAsync(second);
        Assert.Equal("$16\r\nagain on n2 only\r\n", await client.ReadReplyAsync());
        Assert.Equal("$5\r\nagain\r\n", await client.ReadReplyAsync());
        for (var node = 0; node < 3; node++)
            Assert.Equal("$5\r\nagain\r\n", await cluster.Members.LocalGetAsync(node, local));
    }

    [Theory]
    [InlineData(RedisProtocol.Resp2)]
    [InlineData(RedisProtocol.Resp3)]
    public async Task StackExchange_Redis_scripts_work_through_every_node(RedisProtocol protocol)
    {
        var script = LuaScript.Prepare("return redis.call('incrby', @key, @by)");
        for (var node = 0; node < 3; node++)
        {
            var options = new ConfigurationOptions { EndPoints = { { "127.0.0.1", cluster.Nodes[node].Port } }, Protocol = protocol };
            await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
            var db = connection.GetDatabase();
            for (var i = 0; i < 20; i++)
            {
                var key = (RedisKey)$"se-script:{protocol}:{i}";
                Assert.Equal(node + 1, (long)await script.EvaluateAsync(db, new { key, by = 1 }));
            }
        }

        for (var node = 0; node < 3; node++)
            Assert.Equal("$1\r\n3\r\n", await cluster.Members.LocalGetAsync(node, $"se-script:{protocol}:7"));
    }
}

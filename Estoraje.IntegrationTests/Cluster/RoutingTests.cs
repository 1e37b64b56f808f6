using System.Globalization;
using Estoraje.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>Three nodes with a fixed member list (--members), on ports chosen beforehand; one copy of each key.</summary>
public class StaticClusterFixture : IAsyncLifetime
{
    public const string Secret = "routing-secret";

    public List<EstorajeServerProcess> Nodes { get; } = [];

    public List<int> PeerPorts { get; } = [];

    protected virtual string[] Settings => ["--replicas", "1"];

    public async Task InitializeAsync()
    {
        var ports = Enumerable.Range(0, 3).Select(_ => (Client: ServerProcess.FreePort(), Peer: ServerProcess.FreePort())).ToArray();
        var members = string.Join(",", ports.Select((p, i) => $"n{i}@127.0.0.1:{p.Client}@127.0.0.1:{p.Peer}"));
        var starts = ports.Select((p, i) => EstorajeServerProcess.StartOnPortAsync(p.Client,
            ["--node-id", $"n{i}", "--members", members, "--peer-port", p.Peer.ToString(CultureInfo.InvariantCulture), "--cluster-secret", Secret, .. Settings]));
        Nodes.AddRange(await Task.WhenAll(starts));
        PeerPorts.AddRange(ports.Select(p => p.Peer));
    }

    /// <summary>What node <paramref name="node"/> itself holds for <paramref name="key"/>, asked on its peer port (no routing).</summary>
    public Task<string> LocalGetAsync(int node, string key) => LocalCommandAsync(node, "GET", key);

    /// <summary>A command run by node <paramref name="node"/> on its own data, sent on its peer port (no routing).</summary>
    public async Task<string> LocalCommandAsync(int node, params string[] command)
    {
        await using var link = await RespConnection.ConnectAsync(PeerPorts[node]);
        Assert.Equal("+OK\r\n", await link.CommandAsync("ESTORAJE.PEER", Secret));
        return await link.CommandAsync(command);
    }

    public async Task DisposeAsync()
    {
        foreach (var node in Nodes)
            await node.DisposeAsync();
    }
}

/// <summary>Every node accepts every command and forwards it to the key's primary.</summary>
public sealed class RoutingTests(StaticClusterFixture cluster) : IClassFixture<StaticClusterFixture>
{
    private const string Secret = StaticClusterFixture.Secret;
    private readonly List<EstorajeServerProcess> _nodes = cluster.Nodes;

    [Fact]
    public async Task A_key_written_through_one_node_is_read_through_every_node()
    {
        await using var writer = await RespConnection.ConnectAsync(_nodes[0].Port);
        for (var i = 0; i < 100; i++)
            Assert.Equal("+OK\r\n", await writer.CommandAsync("SET", $"route:{i}", $"value-{i}"));

        foreach (var node in _nodes)
        {
            await using var reader = await RespConnection.ConnectAsync(node.Port);
            for (var i = 0; i < 100; i++)
            {
                var value = $"value-{i}";
                Assert.Equal($"${value.Length}\r\n{value}\r\n", await reader.CommandAsync("GET", $"route:{i}"));
            }
        }
    }

    [Fact]
    public async Task Keys_are_stored_on_their_primary_only_so_every_node_holds_a_share()
    {
        // Each node's own DBSIZE, asked on its peer port (a client's DBSIZE counts the whole cluster).
        var before = await SizesAsync();
        await using var writer = await RespConnection.ConnectAsync(_nodes[1].Port);
        for (var i = 0; i < 300; i++)
            Assert.Equal("+OK\r\n", await writer.CommandAsync("SET", $"share:{i}", "x"));

        var growth = (await SizesAsync()).Zip(before, (after, b) => after - b).ToList();
        Assert.Equal(300, growth.Sum());
        Assert.All(growth, g => Assert.InRange(g, 50, 200));
    }

    [Fact]
    public async Task Pipelined_commands_for_several_nodes_get_their_replies_in_order()
    {
        await using var client = await RespConnection.ConnectAsync(_nodes[2].Port);
        var batch = new List<byte>();
        for (var i = 0; i < 200; i++)
        {
            batch.AddRange(RespConnection.Encode("SET", $"order:{i}", i.ToString(CultureInfo.InvariantCulture)));
            batch.AddRange(RespConnection.Encode("INCR", $"order:{i}"));
        }

        await client.SendAsync(batch.ToArray());
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal("+OK\r\n", await client.ReadReplyAsync());
            Assert.Equal($":{i + 1}\r\n", await client.ReadReplyAsync());
        }
    }

    [Theory]
    [InlineData(RedisProtocol.Resp2)]
    [InlineData(RedisProtocol.Resp3)]
    public async Task StackExchange_Redis_works_through_any_node_in_both_protocols(RedisProtocol protocol)
    {
        foreach (var node in _nodes)
        {
            var options = new ConfigurationOptions { EndPoints = { { "127.0.0.1", node.Port } }, Protocol = protocol };
            await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
            var db = connection.GetDatabase();
            var prefix = $"se:{protocol}:{node.Port}";
            for (var i = 0; i < 50; i++)
                Assert.True(await db.StringSetAsync($"{prefix}:{i}", i, TimeSpan.FromMinutes(5)));
            for (var i = 0; i < 50; i++)
            {
                Assert.Equal(i, (int)await db.StringGetAsync($"{prefix}:{i}"));
                Assert.InRange((await db.KeyTimeToLiveAsync($"{prefix}:{i}"))!.Value.TotalSeconds, 200, 300);
            }

            Assert.True((await db.StringGetAsync($"{prefix}:missing")).IsNull);
        }
    }

    [Fact]
    public async Task Keys_with_one_hash_tag_run_together_and_keys_of_different_slots_get_crossslot()
    {
        await using var client = await RespConnection.ConnectAsync(_nodes[0].Port);
        Assert.Equal(":1\r\n", await client.CommandAsync("MSETNX", "{tag}a", "1", "{tag}b", "2"));
        Assert.Equal("*2\r\n$1\r\n1\r\n$1\r\n2\r\n", await client.CommandAsync("MGET", "{tag}a", "{tag}b"));
        Assert.Equal("-CROSSSLOT Keys in request don't hash to the same slot\r\n", await client.CommandAsync("MSETNX", "x1", "1", "x2", "2"));
    }

    [Theory]
    [InlineData(0, "2")]
    [InlineData(1, "3")]
    public async Task Multi_key_commands_over_keys_of_every_node_are_split_and_merged_in_key_order(int node, string protocol)
    {
        await using var client = await RespConnection.ConnectAsync(_nodes[node].Port);
        await client.CommandAsync("HELLO", protocol);
        var keys = Enumerable.Range(0, 30).Select(i => $"fan:{protocol}:{i}").ToArray();
        var mset = new List<string> { "MSET" };
        foreach (var key in keys)
            mset.AddRange([key, $"v-{key}"]);
        Assert.Equal("+OK\r\n", await client.CommandAsync([.. mset]));

        // Every key, plus a missing one in the middle, comes back in the order asked.
        var asked = keys.Take(15).Append("fan:missing").Concat(keys.Skip(15)).ToArray();
        var nil = protocol == "3" ? "_\r\n" : "$-1\r\n";
        var expected = $"*{asked.Length}\r\n" + string.Concat(asked.Select(k => k == "fan:missing" ? nil : $"${$"v-{k}".Length}\r\nv-{k}\r\n"));
        Assert.Equal(expected, await client.CommandAsync(["MGET", .. asked]));

        Assert.Equal(":31\r\n", await client.CommandAsync(["EXISTS", .. keys, keys[0]]));
        Assert.Equal(":30\r\n", await client.CommandAsync(["DEL", .. keys, "fan:missing"]));
        Assert.Equal(":0\r\n", await client.CommandAsync(["EXISTS", .. keys]));
    }

    [Fact]
    public async Task Keyspace_commands_answer_for_the_whole_cluster_through_any_node()
    {
        await using var client = await RespConnection.ConnectAsync(_nodes[2].Port);
        Assert.Equal("+OK\r\n", await client.CommandAsync("FLUSHALL"));
        Assert.Equal(":0\r\n", await client.CommandAsync("DBSIZE"));
        var keys = Enumerable.Range(0, 120).Select(i => $"whole:{i}").ToHashSet();
        foreach (var key in keys)
            await client.CommandAsync("SET", key, "1");
        Assert.Equal(new long[] { 120, 120, 120 }, await Task.WhenAll(_nodes.Select(async n =>
        {
            await using var c = await RespConnection.ConnectAsync(n.Port);
            return long.Parse((await c.CommandAsync("DBSIZE")).Trim(':', '\r', '\n'), CultureInfo.InvariantCulture);
        })));
        Assert.True((await SizesAsync()).All(size => size is > 0 and < 120), "the keys are spread, not on one node");

        var listed = ParseBulkArray(await client.CommandAsync("KEYS", "whole:*"));
        Assert.Equal(keys, listed.ToHashSet());
        Assert.Equal(keys.Count, listed.Count);

        var scanned = new HashSet<string>();
        var cursor = "0";
        var steps = 0;
        do
        {
            var reply = await client.CommandAsync("SCAN", cursor, "COUNT", "7");
            var parts = reply.Split("\r\n");
            cursor = parts[2];
            scanned.UnionWith(ParseBulkArray(string.Join("\r\n", parts[3..])));
            Assert.True(++steps < 1000, "SCAN never ended");
        }
        while (cursor != "0");
        Assert.Equal(keys, scanned);

        Assert.StartsWith("$", await client.CommandAsync("RANDOMKEY"));
        Assert.Equal("+OK\r\n", await client.CommandAsync("FLUSHALL"));
        Assert.Equal(":0\r\n", await client.CommandAsync("DBSIZE"));
        Assert.Equal("$-1\r\n", await client.CommandAsync("RANDOMKEY"));
    }

    private static List<string> ParseBulkArray(string reply)
    {
        var lines = reply.Split("\r\n");
        var count = int.Parse(lines[0][1..], CultureInfo.InvariantCulture);
        return [.. Enumerable.Range(0, count).Select(i => lines[2 + 2 * i])];
    }

    [Fact]
    public async Task The_peer_port_refuses_commands_until_the_cluster_secret_is_given()
    {
        await using var peer = await RespConnection.ConnectAsync(cluster.PeerPorts[0]);
        Assert.Equal("-NOAUTH Authentication required.\r\n", await peer.CommandAsync("GET", "x"));
        Assert.Equal("-WRONGPASS invalid cluster secret\r\n", await peer.CommandAsync("ESTORAJE.PEER", "wrong"));
        Assert.Equal("+OK\r\n", await peer.CommandAsync("ESTORAJE.PEER", Secret));
        Assert.Equal("+OK\r\n", await peer.CommandAsync("SET", "peer:x", "1"));

        await using var client = await RespConnection.ConnectAsync(_nodes[0].Port);
        Assert.Equal("-ERR ESTORAJE.PEER is accepted on the peer port only\r\n", await client.CommandAsync("ESTORAJE.PEER", Secret));
    }

    private async Task<List<long>> SizesAsync()
    {
        var sizes = new List<long>();
        foreach (var port in cluster.PeerPorts)
        {
            await using var c = await RespConnection.ConnectAsync(port);
            Assert.Equal("+OK\r\n", await c.CommandAsync("ESTORAJE.PEER", Secret));
            sizes.Add(long.Parse((await c.CommandAsync("DBSIZE")).Trim(':', '\r', '\n'), CultureInfo.InvariantCulture));
        }

        return sizes;
    }
}

/// <summary>A node of the cluster dies: its keys cannot be served, the others' can.</summary>
public sealed class DeadNodeRoutingTests(StaticClusterFixture cluster) : IClassFixture<StaticClusterFixture>
{
    [Fact]
    public async Task Keys_of_a_dead_node_get_tryagain_while_the_others_keep_working()
    {
        await using var client = await RespConnection.ConnectAsync(cluster.Nodes[0].Port);
        await cluster.Nodes[2].DisposeAsync();
        cluster.Nodes.RemoveAt(2);

        var replies = new List<string>();
        for (var i = 0; i < 60; i++)
            replies.Add(await client.CommandAsync("SET", $"dead:{i}", "v"));

        Assert.Contains(replies, r => r == "+OK\r\n");
        Assert.Contains(replies, r => r.StartsWith("-TRYAGAIN", StringComparison.Ordinal));
        Assert.All(replies, r => Assert.True(r == "+OK\r\n" || r.StartsWith("-TRYAGAIN", StringComparison.Ordinal), r));
    }
}

/// <summary>The deployment the README describes: a plain TCP load balancer (HAProxy) in front of every node.</summary>
public sealed class LoadBalancerTests(StaticClusterFixture cluster) : HaproxyInFront(cluster), IClassFixture<StaticClusterFixture>
{
    [Theory]
    [InlineData(RedisProtocol.Resp2)]
    [InlineData(RedisProtocol.Resp3)]
    public async Task StackExchange_Redis_through_haproxy_sees_one_keyspace_and_every_node_agrees(RedisProtocol protocol)
    {
        // Several multiplexers: HAProxy spreads their connections over the nodes.
        var prefix = $"lb:{protocol}";
        for (var client = 0; client < 3; client++)
        {
            var options = new ConfigurationOptions { EndPoints = { { "127.0.0.1", Proxy.Port } }, Protocol = protocol };
            await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
            var db = connection.GetDatabase();
            var writes = Enumerable.Range(0, 200).Select(i => db.StringSetAsync($"{prefix}:{client}:{i}", i)).ToArray();
            Assert.All(await Task.WhenAll(writes), Assert.True);
            Assert.Equal(200, await db.StringIncrementAsync($"{prefix}:{client}:199", 1));
            Assert.True(await db.KeyDeleteAsync($"{prefix}:{client}:0"));
        }

        foreach (var node in Cluster.Nodes)
        {
            await using var direct = await RespConnection.ConnectAsync(node.Port);
            for (var client = 0; client < 3; client++)
            {
                Assert.Equal("$-1\r\n", await direct.CommandAsync("GET", $"{prefix}:{client}:0"));
                Assert.Equal("$2\r\n50\r\n", await direct.CommandAsync("GET", $"{prefix}:{client}:50"));
                Assert.Equal("$3\r\n200\r\n", await direct.CommandAsync("GET", $"{prefix}:{client}:199"));
            }
        }
    }
}

/// <summary>Three nodes, three copies of every key, two acknowledgements per write (N=3, W=2).</summary>
public sealed class ReplicatedClusterFixture : StaticClusterFixture
{
    protected override string[] Settings => ["--replicas", "3", "--write-quorum", "2"];
}

/// <summary>Three nodes, three copies, N=3 W=2, on the memory store (which keeps no tombstones).</summary>
public sealed class MemoryReplicatedClusterFixture : StaticClusterFixture
{
    protected override string[] Settings => ["--replicas", "3", "--write-quorum", "2", "--storage", "memory"];
}

/// <summary>Deletes reach every replica on the memory store too: an absent key is copied as a tombstone.</summary>
public sealed class MemoryStoreReplicationTests(MemoryReplicatedClusterFixture cluster) : IClassFixture<MemoryReplicatedClusterFixture>
{
    [Fact]
    public async Task A_delete_and_an_emptied_collection_leave_no_copy_behind()
    {
        await using var client = await RespConnection.ConnectAsync(cluster.Nodes[1].Port);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("+OK\r\n", await client.CommandAsync("SET", $"mdel:{i}", "v"));
            Assert.Equal(":1\r\n", await client.CommandAsync("HSET", $"mhash:{i}", "f", "v"));
        }

        for (var node = 0; node < 3; node++)
            Assert.Equal("$1\r\nv\r\n", await cluster.LocalGetAsync(node, "mdel:3"));

        Assert.Equal(":20\r\n", await client.CommandAsync(["DEL", .. Enumerable.Range(0, 20).Select(i => $"mdel:{i}")]));
        for (var i = 0; i < 20; i++)
            Assert.Equal(":1\r\n", await client.CommandAsync("HDEL", $"mhash:{i}", "f"));

        for (var node = 0; node < 3; node++)
        {
            for (var i = 0; i < 20; i++)
            {
                Assert.Equal(":0\r\n", await cluster.LocalCommandAsync(node, "EXISTS", $"mdel:{i}"));
                Assert.Equal(":0\r\n", await cluster.LocalCommandAsync(node, "EXISTS", $"mhash:{i}"));
            }
        }
    }
}

/// <summary>Three nodes, three copies, all three must acknowledge (N=3, W=3).</summary>
public sealed class AllCopiesClusterFixture : StaticClusterFixture
{
    protected override string[] Settings => ["--replicas", "3", "--write-quorum", "3"];
}

/// <summary>Writes reach every replica of their slot before the client hears OK.</summary>
public sealed class ReplicationTests(ReplicatedClusterFixture cluster) : IClassFixture<ReplicatedClusterFixture>
{
    [Fact]
    public async Task An_acknowledged_write_is_held_by_every_replica_and_a_delete_removes_every_copy()
    {
        await using var client = await RespConnection.ConnectAsync(cluster.Nodes[1].Port);
        for (var i = 0; i < 40; i++)
            Assert.Equal("+OK\r\n", await client.CommandAsync("SET", $"copy:{i}", $"v{i}"));
        Assert.Equal(":1\r\n", await client.CommandAsync("INCR", "copy:counter"));

        for (var node = 0; node < 3; node++)
        {
            for (var i = 0; i < 40; i++)
                Assert.Equal($"${$"v{i}".Length}\r\nv{i}\r\n", await cluster.LocalGetAsync(node, $"copy:{i}"));
            Assert.Equal("$1\r\n1\r\n", await cluster.LocalGetAsync(node, "copy:counter"));
        }

        Assert.Equal(":40\r\n", await client.CommandAsync(["DEL", .. Enumerable.Range(0, 40).Select(i => $"copy:{i}")]));
        for (var node = 0; node < 3; node++)
            Assert.Equal("$-1\r\n", await cluster.LocalGetAsync(node, "copy:7"));
    }

    [Fact]
    public async Task A_hash_changed_through_any_node_is_the_same_on_every_replica()
    {
        await using var client = await RespConnection.ConnectAsync(cluster.Nodes[2].Port);
        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(":2\r\n", await client.CommandAsync("HSET", $"hcopy:{i}", "a", $"{i}", "b", "x"));
            Assert.Equal($":{i + 5}\r\n", await client.CommandAsync("HINCRBY", $"hcopy:{i}", "a", "5"));
            Assert.Equal(":1\r\n", await client.CommandAsync("HDEL", $"hcopy:{i}", "b"));
        }

        for (var node = 0; node < 3; node++)
        {
            for (var i = 0; i < 30; i++)
            {
                var expected = $"*2\r\n$1\r\na\r\n${$"{i + 5}".Length}\r\n{i + 5}\r\n";
                Assert.Equal(expected, await cluster.LocalCommandAsync(node, "HGETALL", $"hcopy:{i}"));
                Assert.Equal("+hash\r\n", await cluster.LocalCommandAsync(node, "TYPE", $"hcopy:{i}"));
            }
        }
    }

    [Fact]
    public async Task Info_counts_the_records_sent_to_replicas_and_the_backlog_drains_to_zero()
    {
        var port = cluster.Nodes[2].Port;
        var before = long.Parse(await ClusterNodes.InfoAsync(port, "estoraje_replicated_records"), CultureInfo.InvariantCulture);
        await using (var client = await RespConnection.ConnectAsync(cluster.PeerPorts[2]))
        {
            Assert.Equal("+OK\r\n", await client.CommandAsync("ESTORAJE.PEER", StaticClusterFixture.Secret));
            // Run on node 2 itself (the peer port does not route): each write is copied to the two others.
            for (var i = 0; i < 20; i++)
                Assert.Equal("+OK\r\n", await client.CommandAsync("SET", $"backlog:{i}", "v"));
        }

        Assert.Equal(before + 40, long.Parse(await ClusterNodes.InfoAsync(port, "estoraje_replicated_records"), CultureInfo.InvariantCulture));
        await ClusterNodes.EventuallyAsync(async () => await ClusterNodes.InfoAsync(port, "estoraje_replication_backlog") == "0",
            TimeSpan.FromSeconds(10), async () => "backlog " + await ClusterNodes.InfoAsync(port, "estoraje_replication_backlog"));
    }

    [Fact]
    public async Task Cluster_wide_dbsize_and_keys_count_each_key_once_although_every_node_holds_it()
    {
        await using var client = await RespConnection.ConnectAsync(cluster.Nodes[0].Port);
        Assert.Equal("+OK\r\n", await client.CommandAsync("FLUSHALL"));
        for (var i = 0; i < 30; i++)
            await client.CommandAsync("SET", $"once:{i}", "x");

        Assert.Equal(":30\r\n", await client.CommandAsync("DBSIZE"));
        Assert.StartsWith("*30\r\n", await client.CommandAsync("KEYS", "once:*"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_writes_through_every_node_do_not_wait_behind_each_other()
    {
        // Every node forwards writes to every other while each forwarded write waits for its copies: the copies
        // must never queue behind a forwarded write (that was a cross-node deadlock).
        var writers = Enumerable.Range(0, 12).Select(async w =>
        {
            await using var client = await RespConnection.ConnectAsync(cluster.Nodes[w % 3].Port);
            var batch = new List<byte>();
            for (var i = 0; i < 50; i++)
                batch.AddRange(RespConnection.Encode("SET", $"both-ways:{w}:{i}", "v"));
            await client.SendAsync(batch.ToArray());
            for (var i = 0; i < 50; i++)
                Assert.Equal("+OK\r\n", await client.ReadReplyAsync(TimeSpan.FromSeconds(10)));
        });
        await Task.WhenAll(writers);
    }

    [Fact]
    public async Task Wait_counts_the_replicas_holding_the_connections_last_write()
    {
        foreach (var node in cluster.Nodes)
        {
            await using var client = await RespConnection.ConnectAsync(node.Port);
            Assert.Equal("+OK\r\n", await client.CommandAsync("SET", $"wait:{node.Port}", "v"));
            // W=2: at least one replica besides the primary held it before the reply (two when counted here,
            // where the write ran; a forwarded write's reply proves only the quorum).
            var held = await client.CommandAsync("WAIT", "1", "5000");
            Assert.True(held is ":2\r\n" or ":1\r\n", held);
            Assert.Equal(":0\r\n".Length, (await client.CommandAsync("WAIT", "0", "0")).Length);
            Assert.Equal("-ERR timeout is negative\r\n", await client.CommandAsync("WAIT", "1", "-1"));
        }

        // A write run on this node itself (it is the primary of the key's slot): both copies are counted.
        await using var primary = await RespConnection.ConnectAsync(cluster.PeerPorts[0]);
        Assert.Equal("+OK\r\n", await primary.CommandAsync("ESTORAJE.PEER", StaticClusterFixture.Secret));
        Assert.Equal("+OK\r\n", await primary.CommandAsync("SET", "wait:local", "v"));
        Assert.Equal(":2\r\n", await primary.CommandAsync("WAIT", "2", "5000"));
        Assert.Equal(":2\r\n", await primary.CommandAsync("WAIT", "3", "100"));
    }

    [Fact]
    public async Task A_client_cannot_apply_records_itself()
    {
        await using var client = await RespConnection.ConnectAsync(cluster.Nodes[0].Port);
        Assert.Equal("-ERR ESTORAJE.APPLY is accepted from peers only\r\n", await client.CommandAsync("ESTORAJE.APPLY", "k", "999999999999", "1", "0", "evil"));
    }
}

/// <summary>With W=3 a dead replica makes writes fail (-NOREPLICAS) while reads go on.</summary>
public sealed class WriteQuorumTests(AllCopiesClusterFixture cluster) : IClassFixture<AllCopiesClusterFixture>
{
    [Fact]
    public async Task Writes_get_noreplicas_when_a_replica_is_down_and_reads_still_work()
    {
        await using var client = await RespConnection.ConnectAsync(cluster.Nodes[0].Port);
        Assert.Equal("+OK\r\n", await client.CommandAsync("SET", "quorum:before", "v"));

        await cluster.Nodes[2].DisposeAsync();
        cluster.Nodes.RemoveAt(2);

        Assert.Equal("-NOREPLICAS Not enough good replicas to write.\r\n", await client.CommandAsync("SET", "quorum:after", "v"));
        var read = await client.CommandAsync("GET", "quorum:before");
        Assert.True(read == "$1\r\nv\r\n" || read.StartsWith("-TRYAGAIN", StringComparison.Ordinal), read);
    }
}

/// <summary>N=3, W=2 with one node down: writes whose primary is alive still succeed on the two live copies.</summary>
public sealed class ReplicaDownTests(ReplicatedClusterFixture cluster) : IClassFixture<ReplicatedClusterFixture>
{
    [Fact]
    public async Task Writes_succeed_with_one_replica_down_when_the_primary_is_alive()
    {
        await cluster.Nodes[2].DisposeAsync();
        cluster.Nodes.RemoveAt(2);
        await using var client = await RespConnection.ConnectAsync(cluster.Nodes[0].Port);

        var replies = new List<string>();
        for (var i = 0; i < 40; i++)
            replies.Add(await client.CommandAsync("SET", $"one-down:{i}", "v"));

        // Keys whose primary was the dead node cannot be written; every other write reached W=2 copies.
        Assert.Contains(replies, r => r == "+OK\r\n");
        Assert.All(replies, r => Assert.True(r == "+OK\r\n" || r.StartsWith("-TRYAGAIN", StringComparison.Ordinal), r));
        for (var i = 0; i < 40; i++)
        {
            if (replies[i] == "+OK\r\n")
            {
                Assert.Equal("$1\r\nv\r\n", await cluster.LocalGetAsync(0, $"one-down:{i}"));
                Assert.Equal("$1\r\nv\r\n", await cluster.LocalGetAsync(1, $"one-down:{i}"));
            }
        }
    }
}

/// <summary>Three copies, all acknowledged (W=3), reads served by whichever replica is asked.</summary>
public sealed class ReplicaReadsClusterFixture : StaticClusterFixture
{
    protected override string[] Settings => ["--replicas", "3", "--write-quorum", "3", "--read-from", "replica"];
}

/// <summary><c>--read-from replica</c>: a node holding a copy of the slot answers reads itself; writes still go to the primary.</summary>
public sealed class ReplicaReadTests(ReplicaReadsClusterFixture cluster) : IClassFixture<ReplicaReadsClusterFixture>
{
    [Fact]
    public async Task Reads_are_answered_by_the_node_asked_without_a_hop_and_see_every_acknowledged_write()
    {
        await using (var writer = await RespConnection.ConnectAsync(cluster.Nodes[0].Port))
        {
            for (var i = 0; i < 60; i++)
                Assert.Equal("+OK\r\n", await writer.CommandAsync("SET", $"replica-read:{i}", $"v{i}"));
        }

        // Every node holds every slot (N=3 of 3): no read is forwarded, whichever node leads the key.
        foreach (var node in cluster.Nodes)
        {
            var forwardedBefore = await ClusterNodes.InfoAsync(node.Port, "estoraje_forwarded_commands");
            await using var reader = await RespConnection.ConnectAsync(node.Port);
            for (var i = 0; i < 60; i++)
                Assert.Equal($"${$"v{i}".Length}\r\nv{i}\r\n", await reader.CommandAsync("GET", $"replica-read:{i}"));
            Assert.Equal(forwardedBefore, await ClusterNodes.InfoAsync(node.Port, "estoraje_forwarded_commands"));
        }

        // Writes still run on the primary: a node that leads none of some keys forwards their writes.
        var forwarded = long.Parse(await ClusterNodes.InfoAsync(cluster.Nodes[1].Port, "estoraje_forwarded_commands"), CultureInfo.InvariantCulture);
        await using (var writer = await RespConnection.ConnectAsync(cluster.Nodes[1].Port))
        {
            for (var i = 0; i < 60; i++)
                Assert.Equal($":{i + 1}\r\n", await writer.CommandAsync("INCR", "replica-read:counter:0"));
        }

        Assert.Equal("$2\r\n60\r\n", await cluster.LocalGetAsync(2, "replica-read:counter:0"));
        var primaryIsNode1 = (string)RespReply.AsMap(await ClusterNodes.CommandAsync(cluster.Nodes[1].Port, "ESTORAJE", "LOCATE", "replica-read:counter:0"))["primary"]! == "n1";
        var forwardedAfter = long.Parse(await ClusterNodes.InfoAsync(cluster.Nodes[1].Port, "estoraje_forwarded_commands"), CultureInfo.InvariantCulture);
        Assert.Equal(primaryIsNode1 ? forwarded : forwarded + 60, forwardedAfter);
    }
}

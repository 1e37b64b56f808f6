using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>A real etcd and three nodes registered in it, shared by the tests of <see cref="MembershipTests"/>.</summary>
public sealed class ThreeNodeClusterFixture : IAsyncLifetime
{
    private readonly List<string> _dirs = [];

    public EtcdProcess? Etcd { get; private set; }

    public List<EstorajeServerProcess> Nodes { get; } = [];

    public List<string> Ids { get; } = [];

    public async Task InitializeAsync()
    {
        Etcd = await EtcdProcess.StartAsync();
        for (var i = 0; i < 3; i++)
            _dirs.Add(ClusterNodes.NewDataDir());
        var starting = _dirs.Select(dir => ClusterNodes.StartAsync(Etcd.Endpoint, "three", dir)).ToList();
        try
        {
            await Task.WhenAll(starting);
        }
        finally
        {
            Nodes.AddRange(starting.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
        }

        foreach (var node in Nodes)
            Ids.Add(await ClusterNodes.NodeIdAsync(node.Port));
        await ClusterNodes.AllSeeAsync(Nodes, Ids, TimeSpan.FromSeconds(15));
    }

    public async Task DisposeAsync()
    {
        foreach (var node in Nodes)
            await node.DisposeAsync();
        if (Etcd is not null)
            await Etcd.DisposeAsync();
        foreach (var dir in _dirs)
            ClusterNodes.DeleteDir(dir);
    }
}

/// <summary>Three nodes with <c>--etcd</c>: each sees all three, and all route every key alike.</summary>
public sealed class MembershipTests(ThreeNodeClusterFixture cluster) : IClassFixture<ThreeNodeClusterFixture>
{
    [Fact]
    public async Task Every_node_lists_all_three_members_with_their_addresses_and_slots()
    {
        Assert.Equal(3, cluster.Ids.Distinct().Count());
        foreach (var node in cluster.Nodes)
        {
            var members = await ClusterNodes.MembersAsync(node.Port);
            Assert.Equal(3, members.Count);
            for (var i = 0; i < cluster.Nodes.Count; i++)
            {
                var member = Assert.Single(members, m => (string)m["id"]! == cluster.Ids[i]);
                Assert.Equal($"127.0.0.1:{cluster.Nodes[i].Port}", member["client-address"]);
                // The registered peer address is where that node's peer listener answers.
                var peer = (string)member["peer-address"]!;
                Assert.Matches(@"^127\.0\.0\.1:\d+$", peer);
                await using (var link = await RespConnection.ConnectAsync(int.Parse(peer.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture)))
                    Assert.Equal("+OK\r\n", await link.CommandAsync("ESTORAJE.PEER", ""));
                Assert.Equal("ready", member["state"]);
                Assert.Equal(cluster.Nodes[i] == node ? 1L : 0L, member["self"]);
                Assert.True((long)member["primary-slots"]! > 0, $"{cluster.Ids[i]} holds no slot as primary");
            }

            // N = 3 on three members: every slot has one primary and two more replicas.
            Assert.Equal(16384, members.Sum(m => (long)m["primary-slots"]!));
            Assert.Equal(2 * 16384, members.Sum(m => (long)m["replica-slots"]!));
        }
    }

    [Fact]
    public async Task Locate_gives_the_same_slot_primary_and_replicas_on_every_node()
    {
        var connections = new List<RespConnection>();
        try
        {
            foreach (var node in cluster.Nodes)
                connections.Add(await RespConnection.ConnectAsync(node.Port));
            var primaries = new HashSet<string>();
            for (var i = 0; i < 300; i++)
            {
                var key = $"locate:{i}";
                var first = await connections[0].CommandAsync("ESTORAJE", "LOCATE", key);
                foreach (var connection in connections.Skip(1))
                    Assert.Equal(first, await connection.CommandAsync("ESTORAJE", "LOCATE", key));

                var located = RespReply.AsMap(RespReply.Parse(first));
                var slot = (long)located["slot"]!;
                Assert.Equal($":{slot}\r\n", await connections[0].CommandAsync("CLUSTER", "KEYSLOT", key));
                var primary = (string)located["primary"]!;
                var replicas = ((List<object?>)located["replicas"]!).Cast<string>().ToList();
                Assert.Equal(2, replicas.Count);
                Assert.Equal(cluster.Ids.Order(StringComparer.Ordinal), replicas.Append(primary).Order(StringComparer.Ordinal));
                primaries.Add(primary);
            }

            Assert.Equal(3, primaries.Count);
        }
        finally
        {
            foreach (var connection in connections)
                await connection.DisposeAsync();
        }
    }

    [Fact]
    public async Task Ring_and_info_report_the_etcd_epoch_and_the_members()
    {
        foreach (var node in cluster.Nodes)
        {
            var ring = RespReply.AsMap(await ClusterNodes.CommandAsync(node.Port, "ESTORAJE", "RING"));
            Assert.Equal(3L, ring["members"]);
            Assert.Equal(3L, ring["replicas"]);
            Assert.Equal(16384L, ring["slots"]);
            var epoch = (long)ring["epoch"]!;
            Assert.True(epoch > 1, $"epoch {epoch} is not an etcd revision after three registrations");
            var nodes = ((List<object?>)ring["nodes"]!).Select(RespReply.AsMap).ToList();
            Assert.Equal(cluster.Ids.Order(StringComparer.Ordinal), nodes.Select(n => (string)n["id"]!));
            Assert.Equal(16384, nodes.Sum(n => (long)n["primary-slots"]!));

            Assert.Equal("0", await ClusterNodes.InfoAsync(node.Port, "cluster_enabled"));
            Assert.Equal("etcd", await ClusterNodes.InfoAsync(node.Port, "estoraje_mode"));
            Assert.Equal("1", await ClusterNodes.InfoAsync(node.Port, "estoraje_registered"));
            Assert.Equal("3", await ClusterNodes.InfoAsync(node.Port, "estoraje_members"));
            Assert.True(long.Parse(await ClusterNodes.InfoAsync(node.Port, "estoraje_epoch"), System.Globalization.CultureInfo.InvariantCulture) >= epoch);
        }
    }

    [Fact]
    public async Task A_key_written_through_one_node_is_read_through_every_node_of_the_etcd_cluster()
    {
        await using var writer = await RespConnection.ConnectAsync(cluster.Nodes[0].Port);
        for (var i = 0; i < 60; i++)
            Assert.Equal("+OK\r\n", await writer.CommandAsync("SET", $"etcd-route:{i}", $"v{i}"));

        foreach (var node in cluster.Nodes)
        {
            await using var reader = await RespConnection.ConnectAsync(node.Port);
            for (var i = 0; i < 60; i++)
                Assert.Equal($"${$"v{i}".Length}\r\nv{i}\r\n", await reader.CommandAsync("GET", $"etcd-route:{i}"));
        }
    }
}

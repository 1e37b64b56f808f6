using System.Diagnostics;
using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>Nodes that die, come back, leave, or cannot reach etcd at all.</summary>
public sealed class MembershipFailureTests(EtcdFixture fixture) : IClassFixture<EtcdFixture>, IAsyncLifetime
{
    private readonly List<string> _dirs = [];
    private readonly List<EstorajeServerProcess> _nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
            await node.DisposeAsync();
        foreach (var dir in _dirs)
            ClusterNodes.DeleteDir(dir);
    }

    [Fact]
    public async Task A_killed_node_leaves_within_the_lease_ttl_and_rejoins_with_its_id_after_a_restart()
    {
        var (nodes, ids) = await StartClusterAsync("kill", 3);

        // Each has an ordinal of its own (the low bits of its write versions).
        var ordinals = new List<string>();
        foreach (var node in nodes)
            ordinals.Add(await ClusterNodes.InfoAsync(node.Port, "estoraje_ordinal"));
        Assert.Equal(3, ordinals.Distinct().Count());

        var victim = nodes[2];
        var survivors = nodes.Take(2).ToList();
        var killedAt = Stopwatch.StartNew();
        await victim.DisposeAsync(); // kill -9
        await ClusterNodes.AllSeeAsync(survivors, ids.Take(2).ToList(), TimeSpan.FromSeconds(ClusterNodes.LeaseTtlSeconds + 3));
        Assert.True(killedAt.Elapsed < TimeSpan.FromSeconds(ClusterNodes.LeaseTtlSeconds + 3), $"left after {killedAt.Elapsed}");

        var restarted = await ClusterNodes.StartAsync(fixture.Etcd.Endpoint, "kill", _dirs[2]);
        _nodes.Add(restarted);
        Assert.Equal(ids[2], await ClusterNodes.NodeIdAsync(restarted.Port));
        await ClusterNodes.EventuallyAsync(async () => await ClusterNodes.InfoAsync(restarted.Port, "estoraje_registered") == "1",
            TimeSpan.FromSeconds(10), () => Task.FromResult("the restarted node did not register"));
        Assert.Equal(ordinals[2], await ClusterNodes.InfoAsync(restarted.Port, "estoraje_ordinal"));
        await ClusterNodes.AllSeeAsync([.. survivors, restarted], ids, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_node_that_shuts_down_deregisters_at_once_instead_of_waiting_out_its_lease()
    {
        // A 30 s lease: only the revocation on shutdown can make the others drop the node within the deadline.
        var (nodes, ids) = await StartClusterAsync("leave", 2, "--lease-ttl", "30");
        await using (var connection = await RespConnection.ConnectAsync(nodes[1].Port))
            await connection.SendAsync(RespConnection.Encode("SHUTDOWN"));
        Assert.Equal(0, await nodes[1].WaitForExitAsync(TimeSpan.FromSeconds(10)));
        await ClusterNodes.AllSeeAsync([nodes[0]], [ids[0]], TimeSpan.FromSeconds(5));
        Assert.Contains("deregistered from etcd", nodes[1].Output, StringComparison.Ordinal);
        Assert.DoesNotContain("lost its lease", nodes[1].Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forget_removes_a_dead_nodes_registration_at_once_instead_of_after_its_lease()
    {
        // A 30 s lease: only ESTORAJE FORGET can make the others drop the killed node within the deadline.
        var (nodes, ids) = await StartClusterAsync("forget", 3, "--lease-ttl", "30");
        await nodes[2].DisposeAsync(); // kill -9
        Assert.StartsWith("ERR a node cannot forget itself", ((RespError)(await ClusterNodes.CommandAsync(nodes[0].Port, "ESTORAJE", "FORGET", ids[0]))!).Message, StringComparison.Ordinal);
        Assert.Equal("OK", await ClusterNodes.CommandAsync(nodes[0].Port, "ESTORAJE", "FORGET", ids[2]));
        await ClusterNodes.AllSeeAsync([nodes[0], nodes[1]], [ids[0], ids[1]], TimeSpan.FromSeconds(5));
        Assert.StartsWith("ERR no such member", ((RespError)(await ClusterNodes.CommandAsync(nodes[1].Port, "ESTORAJE", "FORGET", ids[2]))!).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_node_whose_etcd_is_unreachable_serves_reads_refuses_writes_and_logs_its_retries()
    {
        var dir = ClusterNodes.NewDataDir();
        _dirs.Add(dir);
        var node = await ClusterNodes.StartAsync($"http://127.0.0.1:{ServerProcess.FreePort()}", "unreachable", dir);
        _nodes.Add(node);

        await node.WaitForOutputAsync("Cannot register in etcd (attempt 2)", TimeSpan.FromSeconds(20));
        Assert.Equal("PONG", await ClusterNodes.CommandAsync(node.Port, "PING"));
        Assert.Equal([await ClusterNodes.NodeIdAsync(node.Port)], await ClusterNodes.MemberIdsAsync(node.Port));
        Assert.Equal("0", await ClusterNodes.InfoAsync(node.Port, "estoraje_registered"));
        Assert.Equal("0", await ClusterNodes.InfoAsync(node.Port, "estoraje_epoch"));

        await using var client = await RespConnection.ConnectAsync(node.Port);
        Assert.Equal("$-1\r\n", await client.CommandAsync("GET", "unregistered:key"));
        Assert.StartsWith("-TRYAGAIN this node is not registered", await client.CommandAsync("SET", "unregistered:key", "v"), StringComparison.Ordinal);
    }

    private async Task<(List<EstorajeServerProcess> Nodes, List<string> Ids)> StartClusterAsync(string cluster, int count, params string[] extra)
    {
        var dirs = Enumerable.Range(0, count).Select(_ => ClusterNodes.NewDataDir()).ToList();
        _dirs.AddRange(dirs);
        var starting = dirs.Select(dir => ClusterNodes.StartAsync(fixture.Etcd.Endpoint, cluster, dir, extra)).ToList();
        try
        {
            await Task.WhenAll(starting);
        }
        finally
        {
            _nodes.AddRange(starting.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
        }

        var nodes = starting.Select(t => t.Result).ToList();
        var ids = new List<string>();
        foreach (var node in nodes)
            ids.Add(await ClusterNodes.NodeIdAsync(node.Port));
        await ClusterNodes.AllSeeAsync(nodes, ids, TimeSpan.FromSeconds(15));
        return (nodes, ids);
    }
}

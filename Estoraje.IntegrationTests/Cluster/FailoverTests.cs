using Xunit.Abstractions;
using System.Globalization;
using System.Text;
using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>
/// Three nodes registered in a real etcd (N=3, W=2, 2 s leases) behind a real HAProxy, under a write load through
/// HAProxy: a node killed with kill -9, and etcd itself killed and restarted. No acknowledged write is lost, the
/// load recovers, and once everything is back every copy of every slot is equal.
/// </summary>
public sealed class FailoverTests(ITestOutputHelper output)
    : EtcdClusterTest(3, "failover", "--replicas", "3", "--write-quorum", "2", "--cluster-secret", "failover-secret")
{
    public override Task InitializeAsync() => StartAllBehindHaproxyAsync();

    [Fact]
    public async Task Kill_9_of_a_node_under_load_loses_no_acknowledged_write_and_its_restart_brings_every_copy_level()
    {
        var ttl = TimeSpan.FromSeconds(ClusterNodes.LeaseTtlSeconds);
        await using var load = WriteLoad.Start(Proxy!.Port, writers: 4, prefix: "kill");
        await load.WaitForSuccessesAsync(200, TimeSpan.FromSeconds(20));

        var killedAt = load.Now;
        await KillAsync(2);

        // The survivors drop the dead node when its lease expires and take over its slots; the load goes on.
        await ClusterNodes.AllSeeAsync([Nodes[0]!, Nodes[1]!], [await ClusterNodes.NodeIdAsync(Nodes[0]!.Port), await ClusterNodes.NodeIdAsync(Nodes[1]!.Port)], ttl + TimeSpan.FromSeconds(5));
        await load.WaitForSuccessesAsync(300, ttl + TimeSpan.FromSeconds(10));
        await load.WaitForSuccessesAsync(300, TimeSpan.FromSeconds(20));
        await load.StopAsync();
        var recovered = (load.LastFailure ?? killedAt) - killedAt;
        output.WriteLine($"{load.Successes} writes acknowledged, {load.Failures} failed; last failure {recovered.TotalSeconds:F2}s after the kill");
        foreach (var failure in load.FailureTexts.Take(20))
            output.WriteLine(failure);
        Assert.True(recovered < ttl + TimeSpan.FromSeconds(2),
            $"failures went on {recovered.TotalSeconds:F1}s after the kill (lease TTL {ttl.TotalSeconds}s): {string.Join(" | ", load.FailureTexts.TakeLast(5))}");
        await AssertEveryAcknowledgedWriteIsReadableAsync(load, Nodes[0]!.Port);

        // Back with its data: it catches up on what it missed, and then all three copies of every slot are equal.
        await StartNodeAsync(2);
        await ClusterNodes.EventuallyAsync(
            async () => await ClusterNodes.InfoAsync(Nodes[2]!.Port, "estoraje_ring_members") == "3" &&
                await ClusterNodes.InfoAsync(Nodes[2]!.Port, "estoraje_sync_slots_pending") == "0",
            TimeSpan.FromSeconds(30),
            async () => "the restarted node has not caught up: pending " + await ClusterNodes.InfoAsync(Nodes[2]!.Port, "estoraje_sync_slots_pending"));
        await AssertEveryAcknowledgedWriteIsReadableAsync(load, Nodes[2]!.Port);
        await AssertAllCopiesEqualAsync();
    }

    [Fact]
    public async Task Etcd_killed_and_restarted_under_load_loses_no_acknowledged_write_and_the_cluster_recovers()
    {
        await using var load = WriteLoad.Start(Proxy!.Port, writers: 4, prefix: "etcd");
        await load.WaitForSuccessesAsync(200, TimeSpan.FromSeconds(20));

        await Etcd!.KillKeepingDataAsync();
        // The nodes notice (their lease can no longer be kept alive) and stop taking writes.
        await ClusterNodes.EventuallyAsync(
            async () => await ClusterNodes.InfoAsync(Nodes[0]!.Port, "estoraje_registered") == "0",
            TimeSpan.FromSeconds(20),
            () => Task.FromResult("node 0 still believes it is registered with etcd down"));
        Etcd = await Etcd.StartAgainAsync();

        await ClusterNodes.EventuallyAsync(
            async () =>
            {
                foreach (var node in Nodes)
                {
                    if (await ClusterNodes.InfoAsync(node!.Port, "estoraje_registered") != "1" || await ClusterNodes.InfoAsync(node.Port, "estoraje_ring_members") != "3")
                        return false;
                }

                return true;
            },
            TimeSpan.FromSeconds(30),
            () => Task.FromResult("the nodes did not all register again after etcd came back"));
        await load.WaitForSuccessesAsync(500, TimeSpan.FromSeconds(20));
        await load.StopAsync();
        output.WriteLine($"{load.Successes} writes acknowledged, {load.Failures} failed");
        foreach (var failure in load.FailureTexts.Take(10))
            output.WriteLine(failure);
        await AssertEveryAcknowledgedWriteIsReadableAsync(load, Proxy.Port);
    }

    private static async Task AssertEveryAcknowledgedWriteIsReadableAsync(WriteLoad load, int port)
    {
        Assert.False(load.Acknowledged.IsEmpty);
        await using var client = await RespConnection.ConnectAsync(port);
        var entries = load.Acknowledged.ToArray();
        // Pipelined in chunks: thousands of keys in a few round trips.
        for (var start = 0; start < entries.Length; start += 500)
        {
            var chunk = entries.AsSpan(start, Math.Min(500, entries.Length - start)).ToArray();
            var batch = new List<byte>();
            foreach (var (key, _) in chunk)
                batch.AddRange(RespConnection.Encode("GET", key));
            await client.SendAsync(batch.ToArray());
            foreach (var (key, value) in chunk)
            {
                var reply = await client.ReadReplyAsync(TimeSpan.FromSeconds(15));
                Assert.True(reply == $"${value.Length}\r\n{value}\r\n", $"{key}: acknowledged '{value}', read {reply.TrimEnd()}");
            }
        }
    }

    // ESTORAJE DIGEST of all 16384 slots on every node, compared; replicas may still be applying the last
    // copies, so it is retried for a while.
    private async Task AssertAllCopiesEqualAsync()
    {
        string differences = "";
        await ClusterNodes.EventuallyAsync(
            async () =>
            {
                var digests = new List<string[]>();
                foreach (var node in Nodes)
                    digests.Add([.. (await SlotDigestsAsync(node!.Port)).Select(d => d.Digest)]);
                var different = Enumerable.Range(0, digests[0].Length).Where(s => digests[1][s] != digests[0][s] || digests[2][s] != digests[0][s]).ToList();
                differences = $"{different.Count} slots differ, e.g. " + string.Join("; ", different.Take(3).Select(s => $"slot {s}: {digests[0][s]} {digests[1][s]} {digests[2][s]}"));
                return different.Count == 0;
            },
            TimeSpan.FromSeconds(20),
            () => Task.FromResult(differences));
    }
}

/// <summary>
/// N=3, W=3 with a real etcd: once a killed node's lease expires, two copies are all the ring can give, so every
/// write gets -NOREPLICAS (and is not acknowledged), while every key stays readable through both survivors.
/// </summary>
public sealed class QuorumLossTests(EtcdFixture fixture) : IClassFixture<EtcdFixture>, IAsyncLifetime
{
    private readonly List<string> _dirs = [.. Enumerable.Range(0, 3).Select(_ => ClusterNodes.NewDataDir())];
    private readonly List<EstorajeServerProcess> _nodes = [];

    public async Task InitializeAsync()
    {
        foreach (var dir in _dirs)
            _nodes.Add(await ClusterNodes.StartAsync(fixture.Etcd.Endpoint, "quorum", dir, "--replicas", "3", "--write-quorum", "3"));
        var ids = new List<string>();
        foreach (var node in _nodes)
            ids.Add(await ClusterNodes.NodeIdAsync(node.Port));
        await ClusterNodes.AllSeeAsync(_nodes, ids, TimeSpan.FromSeconds(10));
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
            await node.DisposeAsync();
        foreach (var dir in _dirs)
            ClusterNodes.DeleteDir(dir);
    }

    [Fact]
    public async Task With_one_of_three_nodes_gone_writes_get_NOREPLICAS_and_reads_still_work()
    {
        await using (var client = await RespConnection.ConnectAsync(_nodes[0].Port))
        {
            for (var i = 0; i < 50; i++)
                Assert.Equal("+OK\r\n", await client.CommandAsync("SET", $"quorum:{i}", $"v{i}"));
        }

        await _nodes[2].DisposeAsync(); // kill -9
        var survivors = _nodes.Take(2).ToList();
        await ClusterNodes.AllSeeAsync(survivors, [await ClusterNodes.NodeIdAsync(survivors[0].Port), await ClusterNodes.NodeIdAsync(survivors[1].Port)],
            TimeSpan.FromSeconds(ClusterNodes.LeaseTtlSeconds + 5));

        foreach (var node in survivors)
        {
            await using var client = await RespConnection.ConnectAsync(node.Port);
            for (var i = 0; i < 50; i++)
            {
                Assert.Equal("-NOREPLICAS Not enough good replicas to write.\r\n", await client.CommandAsync("SET", $"quorum:{i}", "new"));
                Assert.Equal($"${$"v{i}".Length}\r\nv{i}\r\n", await client.CommandAsync("GET", $"quorum:{i}"));
            }
        }
    }
}

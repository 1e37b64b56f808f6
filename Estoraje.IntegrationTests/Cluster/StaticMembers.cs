using System.Globalization;
using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>
/// Nodes n0, n1… with a fixed member list (<c>--members</c>, no etcd) on free client and peer ports, sharing a
/// cluster secret: starts one with given settings, and reads what a node itself holds through its peer port.
/// </summary>
public sealed class StaticMembers(int count, string secret)
{
    public (int Client, int Peer)[] Ports { get; } = [.. Enumerable.Range(0, count).Select(_ => (ServerProcess.FreePort(), ServerProcess.FreePort()))];

    /// <summary>Starts node <paramref name="node"/> with <paramref name="settings"/> (replicas, quorum, --dir…).</summary>
    public Task<EstorajeServerProcess> StartAsync(int node, params string[] settings)
    {
        var members = string.Join(",", Ports.Select((p, i) => $"n{i}@127.0.0.1:{p.Client}@127.0.0.1:{p.Peer}"));
        return EstorajeServerProcess.StartOnPortAsync(Ports[node].Client,
        [
            "--node-id", $"n{node}", "--members", members, "--peer-port", Ports[node].Peer.ToString(CultureInfo.InvariantCulture),
            "--cluster-secret", secret, .. settings,
        ]);
    }

    /// <summary>What node <paramref name="node"/> itself holds for <paramref name="key"/> (the peer port does not route).</summary>
    public Task<string> LocalGetAsync(int node, string key) => LocalCommandAsync(node, "GET", key);

    /// <summary>Runs a command on node <paramref name="node"/>'s own data, through its peer port (which does not route).</summary>
    public async Task<string> LocalCommandAsync(int node, params string[] command)
    {
        await using var link = await RespConnection.ConnectAsync(Ports[node].Peer);
        Assert.Equal("+OK\r\n", await link.CommandAsync("ESTORAJE.PEER", secret));
        return await link.CommandAsync(command);
    }

    /// <summary>A numeric field of node <paramref name="node"/>'s INFO cluster.</summary>
    public async Task<long> InfoAsync(int node, string field) =>
        long.Parse(await ClusterNodes.InfoAsync(Ports[node].Client, field), CultureInfo.InvariantCulture);
}

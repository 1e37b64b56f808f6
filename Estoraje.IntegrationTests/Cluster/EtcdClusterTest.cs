using System.Globalization;
using System.Text;
using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>
/// A test with its own etcd, up to <paramref name="capacity"/> Estoraje nodes (each with a data directory that
/// outlives its process, so a node can come back with its data) and, once started, HAProxy in front of some of
/// them. Everything it started is stopped by PID on dispose.
/// </summary>
public abstract class EtcdClusterTest(int capacity, string cluster, params string[] settings) : IAsyncLifetime
{
    private readonly List<string> _dirs = [.. Enumerable.Range(0, capacity).Select(_ => ClusterNodes.NewDataDir())];

    protected EstorajeServerProcess?[] Nodes { get; } = new EstorajeServerProcess?[capacity];

    protected EtcdProcess? Etcd { get; set; }

    protected HaproxyProcess? Proxy { get; set; }

    protected IEnumerable<EstorajeServerProcess> Running => Nodes.Where(n => n is not null)!;

    public abstract Task InitializeAsync();

    public async Task DisposeAsync()
    {
        if (Proxy is not null)
            await Proxy.DisposeAsync();
        foreach (var node in Nodes)
        {
            if (node is not null)
                await node.DisposeAsync();
        }

        if (Etcd is not null)
            await Etcd.DisposeAsync();
        foreach (var dir in _dirs)
            ClusterNodes.DeleteDir(dir);
    }

    /// <summary>Starts node <paramref name="i"/> with the cluster's settings, in its own data directory.</summary>
    protected async Task<EstorajeServerProcess> StartNodeAsync(int i, params string[] extra) =>
        Nodes[i] = await ClusterNodes.StartAsync(Etcd!.Endpoint, cluster, _dirs[i], [.. settings, .. extra]);

    /// <summary>Starts etcd and every node, waits until each node sees all of them, then starts HAProxy in front.</summary>
    protected async Task StartAllBehindHaproxyAsync()
    {
        Etcd = await EtcdProcess.StartAsync();
        for (var i = 0; i < Nodes.Length; i++)
            await StartNodeAsync(i);
        var ids = new List<string>();
        foreach (var node in Nodes)
            ids.Add(await ClusterNodes.NodeIdAsync(node!.Port));
        await ClusterNodes.AllSeeAsync([.. Nodes.Select(n => n!)], ids, TimeSpan.FromSeconds(10));
        Proxy = await HaproxyProcess.StartAsync(Nodes.Select(n => n!.Port));
    }

    /// <summary>Kills node <paramref name="i"/> (kill -9); its data directory stays.</summary>
    protected async Task KillAsync(int i)
    {
        await Nodes[i]!.DisposeAsync();
        Nodes[i] = null;
    }

    /// <summary>ESTORAJE DIGEST of all 16384 slots on one node: its role for each slot and "keys/digest".</summary>
    protected static async Task<(string Role, string Digest)[]> SlotDigestsAsync(int port)
    {
        await using var client = await RespConnection.ConnectAsync(port);
        var result = new (string, string)[16384];
        for (var start = 0; start < result.Length; start += 1024)
        {
            var batch = new StringBuilder();
            for (var slot = start; slot < start + 1024; slot++)
                batch.Append(Encoding.ASCII.GetString(RespConnection.Encode("ESTORAJE", "DIGEST", slot.ToString(CultureInfo.InvariantCulture))));
            await client.SendAsync(Encoding.ASCII.GetBytes(batch.ToString()));
            for (var slot = start; slot < start + 1024; slot++)
            {
                var map = RespReply.AsMap(RespReply.Parse(await client.ReadReplyAsync(TimeSpan.FromSeconds(15))));
                result[slot] = ((string)map["role"]!, $"{map["keys"]}/{map["digest"]}");
            }
        }

        return result;
    }
}

using Estoraje.IntegrationTests.Cluster;
using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests.Ecosystem;

/// <summary>
/// The two deployments the .NET and Node libraries are proved against: a single node, and a three-node cluster
/// (three copies of every key, write quorum 2) behind HAProxy, where each connection lands on any node.
/// </summary>
public sealed class EcosystemFixture : IAsyncLifetime
{
    private readonly StaticMembers _members = new(3, "ecosystem-secret");
    private readonly List<EstorajeServerProcess> _cluster = [];
    private EstorajeServerProcess? _single;
    private HaproxyProcess? _proxy;

    /// <summary>Where a library connects: "single" (the node) or "cluster" (HAProxy).</summary>
    public int PortOf(string deployment) => deployment switch
    {
        "single" => (_single ?? throw new InvalidOperationException("Not started.")).Port,
        "cluster" => (_proxy ?? throw new InvalidOperationException("Not started.")).Port,
        _ => throw new ArgumentOutOfRangeException(nameof(deployment)),
    };

    /// <summary>The client ports of the cluster's nodes, to reach one node directly.</summary>
    public IReadOnlyList<int> NodePorts => [.. _cluster.Select(n => n.Port)];

    /// <summary>The deployments, as xunit theory data.</summary>
    public static TheoryData<string> Deployments => new() { "single", "cluster" };

    public async Task InitializeAsync()
    {
        _single = await EstorajeServerProcess.StartAsync();
        _cluster.AddRange(await Task.WhenAll(Enumerable.Range(0, 3).Select(i => _members.StartAsync(i, "--replicas", "3"))));
        _proxy = await HaproxyProcess.StartAsync(_cluster.Select(n => n.Port));
    }

    public async Task DisposeAsync()
    {
        if (_proxy is not null)
            await _proxy.DisposeAsync();
        foreach (var node in _cluster)
            await node.DisposeAsync();
        if (_single is not null)
            await _single.DisposeAsync();
    }
}

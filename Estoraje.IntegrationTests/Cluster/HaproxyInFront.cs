using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>Tests with HAProxy in front of a static cluster's nodes, started before each test and stopped after it.</summary>
public abstract class HaproxyInFront(StaticClusterFixture cluster) : IAsyncLifetime
{
    private HaproxyProcess? _proxy;

    protected StaticClusterFixture Cluster { get; } = cluster;

    protected HaproxyProcess Proxy => _proxy ?? throw new InvalidOperationException("HAProxy is not started.");

    public async Task InitializeAsync() => _proxy = await HaproxyProcess.StartAsync(Cluster.Nodes.Select(n => n.Port));

    public async Task DisposeAsync()
    {
        if (_proxy is not null)
            await _proxy.DisposeAsync();
    }
}

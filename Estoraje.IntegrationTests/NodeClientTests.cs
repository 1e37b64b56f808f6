using Estoraje.IntegrationTests.Cluster;
using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests;

/// <summary>
/// The Node.js clients, ioredis 6 and node-redis 6 (RESP3), run NodeClients/smoke.mjs, transactions.mjs and
/// pubsub.mjs against the server. scripts/test.sh installs them with <c>npm ci</c>.
/// </summary>
public sealed class NodeClientTests(EstorajeFixture server) : IClassFixture<EstorajeFixture>
{
    [Fact]
    public Task Ioredis_and_node_redis_pass_their_smoke_tests() => NodeScript.RunAsync("smoke.mjs", server.Port, passes: 2);

    [Fact]
    public Task Ioredis_and_node_redis_transactions_watch_and_pipelines_work() => NodeScript.RunAsync("transactions.mjs", server.Port, passes: 2);

    [Fact]
    public Task Ioredis_and_node_redis_subscribe_and_publish_in_resp2_and_resp3() => NodeScript.RunAsync("pubsub.mjs", server.Port, passes: 3);
}

/// <summary>The Node.js clients' transactions through HAProxy in front of three nodes holding three copies of every key.</summary>
public sealed class NodeClientClusterTests(ReplicatedClusterFixture cluster) : HaproxyInFront(cluster), IClassFixture<ReplicatedClusterFixture>
{
    [Fact]
    public Task Ioredis_and_node_redis_transactions_watch_and_pipelines_work_through_haproxy() =>
        NodeScript.RunAsync("transactions.mjs", Proxy.Port, passes: 2);
}

/// <summary>Runs one script of NodeClients/ with node against a port (and more, for scripts that take them) and checks its test count.</summary>
internal static class NodeScript
{
    public static async Task RunAsync(string script, int port, int passes, params int[] morePorts)
    {
        var directory = FindNodeClients();
        Assert.True(Directory.Exists(Path.Combine(directory, "node_modules", "ioredis")),
            $"ioredis is not installed: run 'npm ci' in {directory} (scripts/test.sh does).");

        var (exitCode, output, error) = await ClientProgram.RunAsync("node",
            [script, .. ((int[])[port, .. morePorts]).Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture))],
            directory);

        Assert.True(exitCode == 0, $"node {script} exited {exitCode}:\n{output}\n{error}");
        Assert.Contains($"# pass {passes}", output, StringComparison.Ordinal);
    }

    private static string FindNodeClients()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "Estoraje.IntegrationTests", "NodeClients");
            if (File.Exists(Path.Combine(candidate, "smoke.mjs")))
                return candidate;
        }

        throw new DirectoryNotFoundException("Estoraje.IntegrationTests/NodeClients not found above the test assembly.");
    }
}

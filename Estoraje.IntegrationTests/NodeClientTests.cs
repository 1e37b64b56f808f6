using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests;

/// <summary>
/// The Node.js clients, ioredis 6 and node-redis 6 (RESP3), run NodeClients/smoke.mjs against the server.
/// scripts/test.sh installs them with <c>npm ci</c>.
/// </summary>
public sealed class NodeClientTests(EstorajeFixture server) : IClassFixture<EstorajeFixture>
{
    [Fact]
    public async Task Ioredis_and_node_redis_pass_their_smoke_tests()
    {
        var directory = FindNodeClients();
        Assert.True(Directory.Exists(Path.Combine(directory, "node_modules", "ioredis")),
            $"ioredis is not installed: run 'npm ci' in {directory} (scripts/test.sh does).");

        var (exitCode, output, error) = await ClientProgram.RunAsync("node",
            ["smoke.mjs", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)], directory);

        Assert.True(exitCode == 0, $"node smoke.mjs exited {exitCode}:\n{output}\n{error}");
        Assert.Contains("# pass 2", output, StringComparison.Ordinal);
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

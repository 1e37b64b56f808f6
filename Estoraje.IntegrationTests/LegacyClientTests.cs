using Estoraje.IntegrationTests.Ecosystem;
using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests;

/// <summary>
/// Older .NET clients, each run as a program of its own since one project can reference only one version of a
/// package: StackExchange.Redis 2.7 (what Microsoft.Extensions.Caching.StackExchangeRedis pulls in: no HELLO,
/// CONFIG GET slave-read-only), and Microsoft.Extensions.Caching.StackExchangeRedis 7.0, whose RedisCache writes
/// entries with a Lua script (SCRIPT LOAD, EVALSHA) running HSET and EXPIRE. Against one node and a cluster
/// behind HAProxy.
/// </summary>
public sealed class LegacyClientTests(EcosystemFixture servers) : IClassFixture<EcosystemFixture>
{
    public static TheoryData<string> Deployments => EcosystemFixture.Deployments;

    [Theory]
    [MemberData(nameof(Deployments))]
    public Task StackExchange_Redis_2_7_connects_and_works(string deployment) =>
        RunAsync("LegacyClient", "all checks passed", deployment);

    [Theory]
    [MemberData(nameof(Deployments))]
    public Task RedisCache_7_sets_gets_refreshes_and_removes_entries_through_scripts(string deployment) =>
        RunAsync("LegacyCache", "legacy cache: all checks passed", deployment);

    private async Task RunAsync(string program, string passed, string deployment)
    {
        var (exitCode, output, error) = await ClientProgram.RunAsync("dotnet",
            [ClientProgram.Built(program), .. Ports(deployment)]);

        Assert.True(exitCode == 0, $"{program} exited {exitCode}:\n{output}\n{error}");
        Assert.Contains(passed, output, StringComparison.Ordinal);
    }

    // The port to connect to; in a cluster, then the nodes' own ports (LegacyCache sums their command statistics).
    private IEnumerable<string> Ports(string deployment) =>
        new[] { servers.PortOf(deployment) }.Concat(deployment == "cluster" ? servers.NodePorts : [])
            .Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture));
}

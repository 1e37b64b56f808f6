using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests;

/// <summary>
/// StackExchange.Redis 2.7 (what Microsoft.Extensions.Caching.StackExchangeRedis pulls in): its handshake has
/// no HELLO and asks CONFIG GET slave-read-only. It runs as the LegacyClient program, since one project can
/// reference only one version of the package.
/// </summary>
public sealed class LegacyClientTests(EstorajeFixture server) : IClassFixture<EstorajeFixture>
{
    [Fact]
    public async Task StackExchange_Redis_2_7_connects_and_works()
    {
        var (exitCode, output, error) = await ClientProgram.RunAsync("dotnet",
            [ClientProgram.Built("LegacyClient"), server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        Assert.True(exitCode == 0, $"LegacyClient exited {exitCode}:\n{output}\n{error}");
        Assert.Contains("all checks passed", output, StringComparison.Ordinal);
    }
}

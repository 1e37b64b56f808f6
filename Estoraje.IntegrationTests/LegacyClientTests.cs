using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests;

/// <summary>
/// Older .NET clients, each run as a program of its own since one project can reference only one version of a
/// package: StackExchange.Redis 2.7 (what Microsoft.Extensions.Caching.StackExchangeRedis pulls in: no HELLO,
/// CONFIG GET slave-read-only), and Microsoft.Extensions.Caching.StackExchangeRedis 7.0, whose RedisCache writes
/// entries with a Lua script (SCRIPT LOAD, EVALSHA) running HSET and EXPIRE.
/// </summary>
public sealed class LegacyClientTests(EstorajeFixture server) : IClassFixture<EstorajeFixture>
{
    [Fact]
    public Task StackExchange_Redis_2_7_connects_and_works() => RunAsync("LegacyClient", "all checks passed");

    [Fact]
    public Task RedisCache_7_sets_gets_refreshes_and_removes_entries_through_scripts() =>
        RunAsync("LegacyCache", "legacy cache: all checks passed");

    private async Task RunAsync(string program, string passed)
    {
        var (exitCode, output, error) = await ClientProgram.RunAsync("dotnet",
            [ClientProgram.Built(program), server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        Assert.True(exitCode == 0, $"{program} exited {exitCode}:\n{output}\n{error}");
        Assert.Contains(passed, output, StringComparison.Ordinal);
    }
}

using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests;

/// <summary>
/// Microsoft.Extensions.Caching.StackExchangeRedis 7.0 (RedisCache before version 8): its IDistributedCache writes
/// entries with a Lua script (SCRIPT LOAD, EVALSHA) running HSET and EXPIRE. Set with absolute and sliding expiry,
/// Get, Refresh and Remove run as the LegacyCache program, since one project can reference only one version of
/// the package.
/// </summary>
public sealed class LegacyCacheTests(EstorajeFixture server) : IClassFixture<EstorajeFixture>
{
    [Fact]
    public async Task RedisCache_7_sets_gets_refreshes_and_removes_entries_through_scripts()
    {
        var (exitCode, output, error) = await ClientProgram.RunAsync("dotnet",
            [ClientProgram.Built("LegacyCache"), server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        Assert.True(exitCode == 0, $"LegacyCache exited {exitCode}:\n{output}\n{error}");
        Assert.Contains("legacy cache: all checks passed", output, StringComparison.Ordinal);
    }
}

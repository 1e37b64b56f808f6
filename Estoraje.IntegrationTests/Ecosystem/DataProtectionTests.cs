using Estoraje.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Estoraje.IntegrationTests.Ecosystem;

/// <summary>
/// ASP.NET Core DataProtection with its key ring on Estoraje (<c>PersistKeysToStackExchangeRedis</c>, which keeps
/// the keys in a list: RPUSH to add one, LRANGE to read the ring): what one application protects, another one
/// started afresh on the same key ring unprotects, against one node and against a cluster behind HAProxy.
/// </summary>
public sealed class DataProtectionTests(EcosystemFixture servers) : IClassFixture<EcosystemFixture>
{
    public static TheoryData<string, RedisProtocol> Cases => new()
    {
        { "single", RedisProtocol.Resp2 },
        { "single", RedisProtocol.Resp3 },
        { "cluster", RedisProtocol.Resp2 },
        { "cluster", RedisProtocol.Resp3 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_payload_protected_by_one_provider_is_unprotected_by_a_fresh_one_sharing_the_key_ring(string deployment, RedisProtocol protocol)
    {
        var port = servers.PortOf(deployment);
        var ring = $"dataprotection:{deployment}:{protocol}:keys";
        string protectedPayload;
        await using (var first = await ConnectAsync(port, protocol))
        await using (var provider = Provider(first, ring))
            protectedPayload = provider.GetRequiredService<IDataProtectionProvider>().CreateProtector("estoraje-tests").Protect("a secret payload");

        await using (var inspect = await RespConnection.ConnectAsync(port))
        {
            Assert.Equal(":1\r\n", await inspect.CommandAsync("LLEN", ring));
            Assert.Contains("<key id=", await inspect.CommandAsync("LRANGE", ring, "0", "-1"), StringComparison.Ordinal);
        }

        await using var second = await ConnectAsync(port, protocol);
        await using var fresh = Provider(second, ring);
        var protector = fresh.GetRequiredService<IDataProtectionProvider>().CreateProtector("estoraje-tests");
        Assert.Equal("a secret payload", protector.Unprotect(protectedPayload));
        // The fresh provider found the key and made none of its own.
        Assert.Equal(1, await second.GetDatabase().ListLengthAsync(ring));
        Assert.Throws<System.Security.Cryptography.CryptographicException>(() => fresh.GetRequiredService<IDataProtectionProvider>().CreateProtector("another purpose").Unprotect(protectedPayload));
    }

    private static ServiceProvider Provider(ConnectionMultiplexer redis, string ring)
    {
        var services = new ServiceCollection();
        services.AddDataProtection().SetApplicationName("estoraje-tests").PersistKeysToStackExchangeRedis(redis, ring);
        return services.BuildServiceProvider();
    }

    private static Task<ConnectionMultiplexer> ConnectAsync(int port, RedisProtocol protocol) =>
        ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { { "127.0.0.1", port } }, Protocol = protocol, AbortOnConnectFail = true });
}

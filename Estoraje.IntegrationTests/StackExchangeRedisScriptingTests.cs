using System.Net;
using Estoraje.IntegrationTests.Ecosystem;
using StackExchange.Redis;

namespace Estoraje.IntegrationTests;

/// <summary>
/// Lua scripts through StackExchange.Redis 3.x, in RESP2 and RESP3: ScriptEvaluate (EVAL, then EVALSHA once the
/// client knows the script), LuaScript.Prepare with named parameters, ScriptLoad and SCRIPT EXISTS/FLUSH; against
/// one node and a cluster behind HAProxy (where each connection may land on another node than the last).
/// </summary>
public sealed class StackExchangeRedisScriptingTests(EcosystemFixture servers) : IClassFixture<EcosystemFixture>
{
    public static TheoryData<string, RedisProtocol> Protocols => new()
    {
        { "single", RedisProtocol.Resp2 }, { "single", RedisProtocol.Resp3 },
        { "cluster", RedisProtocol.Resp2 }, { "cluster", RedisProtocol.Resp3 },
    };

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task ScriptEvaluate_runs_a_script_with_keys_and_arguments(string deployment, RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(deployment, protocol);
        var db = redis.GetDatabase();
        var key = Key(deployment, protocol, "counter");
        const string Script = "redis.call('set', KEYS[1], ARGV[1]) return redis.call('incrby', KEYS[1], ARGV[2])";

        // The first call sends EVAL; later ones EVALSHA, the script being in the server's cache.
        for (var i = 0; i < 3; i++)
            Assert.Equal(47, (long)await db.ScriptEvaluateAsync(Script, [key], [40, 7]));
        Assert.Equal("47", await db.StringGetAsync(key));

        var array = (RedisResult[])(await db.ScriptEvaluateAsync("return {1, 'two', {3}, redis.call('get', KEYS[1])}", [key]))!;
        Assert.Equal(1, (long)array[0]);
        Assert.Equal("two", (string?)array[1]);
        Assert.Equal(3, (long)((RedisResult[])array[2]!)[0]);
        Assert.Equal("47", (string?)array[3]);
        Assert.True((await db.ScriptEvaluateAsync("return nil")).IsNull);
        Assert.Equal("OK", (string?)await db.ScriptEvaluateAsync("return redis.status_reply('OK')"));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task A_script_error_surfaces_as_a_RedisServerException_with_Redis_s_text(string deployment, RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(deployment, protocol);
        var db = redis.GetDatabase();
        var key = Key(deployment, protocol, "text");
        await db.StringSetAsync(key, "not a number");

        var error = await Assert.ThrowsAsync<RedisServerException>(() => db.ScriptEvaluateAsync("return redis.call('incr', KEYS[1])", [key]));
        Assert.StartsWith("ERR value is not an integer or out of range script: ", error.Message, StringComparison.Ordinal);
        var custom = await Assert.ThrowsAsync<RedisServerException>(() => db.ScriptEvaluateAsync("return redis.error_reply('MYCODE went wrong')"));
        Assert.Equal("MYCODE went wrong", custom.Message);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task LuaScript_Prepare_binds_named_parameters_and_loads_once(string deployment, RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(deployment, protocol);
        var db = redis.GetDatabase();
        var prepared = LuaScript.Prepare("redis.call('hset', @key, @field, @value) return redis.call('hget', @key, @field)");
        var loaded = await prepared.LoadAsync(Server(redis));
        var key = (RedisKey)Key(deployment, protocol, "hash");

        Assert.Equal("v1", (string?)await prepared.EvaluateAsync(db, new { key, field = "f", value = "v1" }));
        Assert.Equal("v2", (string?)await loaded.EvaluateAsync(db, new { key, field = "f", value = "v2" }));
        Assert.Equal("v2", await db.HashGetAsync(key, "f"));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task ScriptLoad_then_EVALSHA_and_SCRIPT_EXISTS_and_FLUSH(string deployment, RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(deployment, protocol);
        var db = redis.GetDatabase();
        var endpoint = Server(redis);
        var body = $"return 'loaded {deployment} {protocol}'";

        var sha = await endpoint.ScriptLoadAsync(body);
        Assert.Equal((string?)await db.ExecuteAsync("SCRIPT", "LOAD", body), Convert.ToHexStringLower(sha));
        Assert.True(await endpoint.ScriptExistsAsync(body));
        Assert.Equal($"loaded {deployment} {protocol}", (string?)await db.ScriptEvaluateAsync(sha, [], []));
        var ro = await db.ExecuteAsync("EVALSHA_RO", Convert.ToHexStringLower(sha), 0);
        Assert.Equal($"loaded {deployment} {protocol}", (string?)ro);

        await endpoint.ScriptFlushAsync();
        Assert.False(await endpoint.ScriptExistsAsync(body));
        var missing = await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync("EVALSHA", Convert.ToHexStringLower(sha), 0));
        Assert.Equal("NOSCRIPT No matching script. Please use EVAL.", missing.Message);
        // ScriptEvaluate with the body recovers from NOSCRIPT on its own (it sends EVAL again).
        Assert.Equal($"loaded {deployment} {protocol}", (string?)await db.ScriptEvaluateAsync(body));
    }

    private async Task<ConnectionMultiplexer> ConnectAsync(string deployment, RedisProtocol protocol) =>
        await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
        {
            EndPoints = { new IPEndPoint(IPAddress.Loopback, servers.PortOf(deployment)) },
            Protocol = protocol,
            AbortOnConnectFail = true,
            AllowAdmin = true,
            ConnectRetry = 1,
        });

    private static IServer Server(ConnectionMultiplexer redis) => redis.GetServer(redis.GetEndPoints().Single());

    private static string Key(string deployment, RedisProtocol protocol, string name) => $"lua:{deployment}:{protocol}:{name}";
}

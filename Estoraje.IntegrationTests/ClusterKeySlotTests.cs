using System.Text;
using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests;

/// <summary>CLUSTER KEYSLOT against a real redis-server started with cluster support: the same slot for every key.</summary>
public sealed class ClusterKeySlotTests : IAsyncLifetime
{
    private readonly string _nodesFile = Path.Combine(Path.GetTempPath(), $"estoraje-nodes-{Guid.NewGuid():N}.conf");
    private RedisServerProcess? _redis;
    private EstorajeServerProcess? _estoraje;

    public async Task InitializeAsync()
    {
        _redis = await RedisServerProcess.StartAsync("--cluster-enabled", "yes", "--cluster-config-file", _nodesFile);
        _estoraje = await EstorajeServerProcess.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_redis is not null)
            await _redis.DisposeAsync();
        if (_estoraje is not null)
            await _estoraje.DisposeAsync();
        File.Delete(_nodesFile);
    }

    [Fact]
    public async Task Every_key_gets_the_slot_redis_cluster_gives_it()
    {
        var keys = new List<string> { "", "foo", "{user1000}.following", "{user1000}.followers", "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}", "{", "}", "{}", "a{b}c{d}" };
        var random = new Random(2026);
        for (var i = 0; i < 300; i++)
        {
            // Latin-1 text so every byte value 0..255 appears in keys, tags included.
            var bytes = new byte[random.Next(1, 64)];
            random.NextBytes(bytes);
            if (i % 3 == 0)
                bytes[random.Next(bytes.Length)] = (byte)'{';
            if (i % 3 == 0)
                bytes[random.Next(bytes.Length)] = (byte)'}';
            keys.Add(RespConnection.Bytes.GetString(bytes));
        }

        await using var redis = await RespConnection.ConnectAsync(_redis!.Port);
        await using var estoraje = await RespConnection.ConnectAsync(_estoraje!.Port);
        foreach (var key in keys)
        {
            var expected = await redis.CommandAsync("CLUSTER", "KEYSLOT", key);
            Assert.StartsWith(":", expected);
            Assert.Equal(expected, await estoraje.CommandAsync("CLUSTER", "KEYSLOT", key));
        }
    }

    [Fact]
    public async Task Other_cluster_subcommands_answer_as_redis_without_cluster_support()
    {
        await using var estoraje = await RespConnection.ConnectAsync(_estoraje!.Port);
        Assert.Equal("-ERR This instance has cluster support disabled\r\n", await estoraje.CommandAsync("CLUSTER", "NODES"));
        Assert.Equal("-ERR This instance has cluster support disabled\r\n", await estoraje.CommandAsync("CLUSTER", "SLOTS"));
    }
}

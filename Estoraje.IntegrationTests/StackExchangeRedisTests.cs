using System.Net;
using Estoraje.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace Estoraje.IntegrationTests;

/// <summary>
/// StackExchange.Redis 3.x, the .NET client, against Estoraje over RESP2 and RESP3: every test runs once per
/// protocol with its own keys.
/// </summary>
public sealed class StackExchangeRedisTests(EstorajeFixture server) : IClassFixture<EstorajeFixture>
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(15);

    public static TheoryData<RedisProtocol> Protocols => new() { RedisProtocol.Resp2, RedisProtocol.Resp3 };

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Connect_completes_the_handshake_in_the_requested_protocol(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);
        var endpoint = Server(redis);

        Assert.True(redis.IsConnected);
        Assert.Equal(protocol, endpoint.Protocol);
        // The server agrees: its own view of the connection reports the same RESP version.
        var info = (string?)await endpoint.ExecuteAsync("CLIENT", "INFO");
        Assert.Contains($" resp={(protocol == RedisProtocol.Resp3 ? 3 : 2)} ", info, StringComparison.Ordinal);
        Assert.Equal(new Version(7, 2, 4), endpoint.Version);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task StringSet_then_StringGet_returns_the_value(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);
        var db = redis.GetDatabase();
        var key = Key(protocol, "string");
        byte[] binary = [0, 1, 2, (byte)'\r', (byte)'\n', 255];

        Assert.True(await db.StringSetAsync(key, "héllo wörld"));
        Assert.Equal("héllo wörld", await db.StringGetAsync(key));
        Assert.True(await db.StringSetAsync(key + ":bin", binary));
        Assert.Equal(binary, (byte[]?)await db.StringGetAsync(key + ":bin"));
        Assert.True((await db.StringGetAsync(key + ":missing")).IsNull);
        Assert.False(await db.StringSetAsync(key, "other", when: When.NotExists));
        Assert.Equal("héllo wörld", await db.StringGetSetAsync(key, "next"));
        Assert.Equal("next", await db.StringGetDeleteAsync(key));
        Assert.False(await db.KeyExistsAsync(key));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task StringSet_with_expiry_sets_the_ttl_KeyTimeToLive_reports(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);
        var db = redis.GetDatabase();
        var key = Key(protocol, "expiry");

        await db.StringSetAsync(key, "v", TimeSpan.FromSeconds(100));
        var ttl = await db.KeyTimeToLiveAsync(key);

        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(100));
        Assert.Null(await db.KeyTimeToLiveAsync(key + ":persistent-missing"));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task KeyExpire_sets_and_KeyPersist_removes_the_ttl(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);
        var db = redis.GetDatabase();
        var key = Key(protocol, "persist");
        await db.StringSetAsync(key, "v");
        Assert.Null(await db.KeyTimeToLiveAsync(key));

        Assert.True(await db.KeyExpireAsync(key, TimeSpan.FromMinutes(10)));
        Assert.InRange((await db.KeyTimeToLiveAsync(key))!.Value, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
        var at = DateTime.UtcNow.AddHours(1);
        Assert.True(await db.KeyExpireAsync(key, at));
        Assert.InRange((await db.KeyExpireTimeAsync(key))!.Value, at.AddSeconds(-2), at.AddSeconds(2));

        Assert.True(await db.KeyPersistAsync(key));
        Assert.Null(await db.KeyTimeToLiveAsync(key));
        Assert.False(await db.KeyPersistAsync(key));
        Assert.False(await db.KeyExpireAsync(key + ":missing", TimeSpan.FromMinutes(1)));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Key_with_a_short_expiry_disappears(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);
        var db = redis.GetDatabase();
        var key = Key(protocol, "short");

        await db.StringSetAsync(key, "v", TimeSpan.FromMilliseconds(300));
        Assert.Equal("v", await db.StringGetAsync(key));

        var deadline = DateTime.UtcNow + s_deadline;
        while (await db.KeyExistsAsync(key))
        {
            Assert.True(DateTime.UtcNow < deadline, "The key did not expire.");
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }

        Assert.True((await db.StringGetAsync(key)).IsNull);
        Assert.Null(await db.KeyTimeToLiveAsync(key));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Increment_and_decrement_count_in_integers_and_floats(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);
        var db = redis.GetDatabase();
        var key = Key(protocol, "counter");

        Assert.Equal(1, await db.StringIncrementAsync(key));
        Assert.Equal(11, await db.StringIncrementAsync(key, 10));
        Assert.Equal(10, await db.StringDecrementAsync(key));
        Assert.Equal(-5, await db.StringDecrementAsync(key, 15));
        Assert.Equal(-3.5, await db.StringIncrementAsync(key, 1.5));
        Assert.Equal(-1.25, await db.StringDecrementAsync(key, -2.25));
        Assert.Equal("-1.25", await db.StringGetAsync(key));

        await db.StringSetAsync(key, "not a number");
        var error = await Assert.ThrowsAsync<RedisServerException>(() => db.StringIncrementAsync(key));
        Assert.Equal("ERR value is not an integer or out of range", error.Message);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task KeyDelete_removes_keys_with_unlink(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);
        var db = redis.GetDatabase();
        var key = Key(protocol, "delete");
        await db.StringSetAsync([new(key + ":a", "1"), new(key + ":b", "2")]);

        Assert.True(await db.KeyDeleteAsync(key + ":a"));
        Assert.False(await db.KeyDeleteAsync(key + ":a"));
        Assert.Equal(1, await db.KeyDeleteAsync([key + ":b", key + ":c"]));

        Assert.False(await db.KeyExistsAsync(key + ":b"));
        // Against a 7.x server the client deletes with UNLINK, not DEL.
        var stats = (string?)await Server(redis).ExecuteAsync("INFO", "commandstats");
        Assert.Contains("cmdstat_unlink:calls=", stats, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task KeyExists_counts_the_existing_keys(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);
        var db = redis.GetDatabase();
        var key = Key(protocol, "exists");
        await db.StringSetAsync(key, "v");

        Assert.True(await db.KeyExistsAsync(key));
        Assert.False(await db.KeyExistsAsync(key + ":missing"));
        Assert.Equal(2, await db.KeyExistsAsync([key, key + ":missing", key]));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task KeyRename_moves_the_value_and_its_ttl(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);
        var db = redis.GetDatabase();
        var key = Key(protocol, "rename");
        await db.StringSetAsync(key, "v", TimeSpan.FromMinutes(5));

        Assert.True(await db.KeyRenameAsync(key, key + ":new"));

        Assert.False(await db.KeyExistsAsync(key));
        Assert.Equal("v", await db.StringGetAsync(key + ":new"));
        Assert.NotNull(await db.KeyTimeToLiveAsync(key + ":new"));
        await db.StringSetAsync(key + ":taken", "t");
        Assert.False(await db.KeyRenameAsync(key + ":new", key + ":taken", When.NotExists));
        Assert.Equal("t", await db.StringGetAsync(key + ":taken"));
        var error = await Assert.ThrowsAsync<RedisServerException>(() => db.KeyRenameAsync(key + ":missing", key + ":other"));
        Assert.Equal("ERR no such key", error.Message);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Batch_of_10000_sets_then_10000_gets_returns_every_value(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);
        var db = redis.GetDatabase();
        var key = Key(protocol, "batch");
        const int count = 10_000;

        var writes = db.CreateBatch();
        var sets = new Task<bool>[count];
        for (var i = 0; i < count; i++)
            sets[i] = writes.StringSetAsync($"{key}:{i}", $"value-{i}");
        writes.Execute();
        Assert.All(await Task.WhenAll(sets), Assert.True);

        var reads = db.CreateBatch();
        var gets = new Task<RedisValue>[count];
        for (var i = 0; i < count; i++)
            gets[i] = reads.StringGetAsync($"{key}:{i}");
        reads.Execute();
        var values = await Task.WhenAll(gets);
        for (var i = 0; i < count; i++)
            Assert.Equal($"value-{i}", values[i]);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Pipelined_10000_async_sets_then_gets_return_every_value(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);
        var db = redis.GetDatabase();
        var key = Key(protocol, "pipelined");
        const int count = 10_000;

        var sets = new Task<bool>[count];
        for (var i = 0; i < count; i++)
            sets[i] = db.StringSetAsync($"{key}:{i}", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.All(await Task.WhenAll(sets), Assert.True);

        var gets = new Task<RedisValue>[count];
        for (var i = 0; i < count; i++)
            gets[i] = db.StringGetAsync($"{key}:{i}");
        var values = await Task.WhenAll(gets);
        for (var i = 0; i < count; i++)
            Assert.Equal(i, (int)values[i]);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Transaction_whose_conditions_hold_runs_every_command_and_answers_each(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);
        var db = redis.GetDatabase();
        var key = Key(protocol, "transaction");
        await db.KeyDeleteAsync(key);

        var first = db.CreateTransaction();
        first.AddCondition(Condition.KeyNotExists(key));
        var set = first.StringSetAsync(key, "1");
        var increment = first.StringIncrementAsync(key, 41);
        var get = first.StringGetAsync(key);
        Assert.True(await first.ExecuteAsync());
        Assert.True(await set);
        Assert.Equal(42, await increment);
        Assert.Equal("42", await get);

        var second = db.CreateTransaction();
        second.AddCondition(Condition.StringEqual(key, "42"));
        second.AddCondition(Condition.KeyExists(key));
        var append = second.StringAppendAsync(key, "!");
        Assert.True(await second.ExecuteAsync());
        Assert.Equal(3, await append);
        Assert.Equal("42!", await db.StringGetAsync(key));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Transaction_whose_condition_fails_runs_nothing_and_cancels_its_commands(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);
        var db = redis.GetDatabase();
        var key = Key(protocol, "failed-condition");
        await db.StringSetAsync(key, "a");

        foreach (var condition in (Condition[])[Condition.StringEqual(key, "b"), Condition.KeyNotExists(key), Condition.StringNotEqual(key, "a")])
        {
            var transaction = db.CreateTransaction();
            transaction.AddCondition(condition);
            var overwrite = transaction.StringSetAsync(key, "c");

            Assert.False(await transaction.ExecuteAsync());
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => overwrite);
        }

        Assert.Equal("a", await db.StringGetAsync(key));
        Assert.True(await db.StringSetAsync(key + ":after", "still works"));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Transaction_with_hash_conditions_runs_only_while_the_fields_hold_their_values(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);
        var db = redis.GetDatabase();
        var key = Key(protocol, "hash-condition");
        await db.KeyDeleteAsync(key);
        await db.HashSetAsync(key, [new HashEntry("state", "open"), new HashEntry("count", 1)]);

        var held = db.CreateTransaction();
        held.AddCondition(Condition.HashEqual(key, "state", "open"));
        held.AddCondition(Condition.HashNotExists(key, "closed-at"));
        var increment = held.HashIncrementAsync(key, "count");
        Assert.True(await held.ExecuteAsync());
        Assert.Equal(2, await increment);

        var stale = db.CreateTransaction();
        stale.AddCondition(Condition.HashEqual(key, "state", "closed"));
        var set = stale.HashSetAsync(key, "count", 100);
        Assert.False(await stale.ExecuteAsync());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => set);
        Assert.Equal(2, (long)await db.HashGetAsync(key, "count"));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Transaction_command_failing_at_exec_fails_alone_while_the_others_run(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);
        var db = redis.GetDatabase();
        var key = Key(protocol, "runtime-error");
        await db.StringSetAsync(key, "not a number");

        var transaction = db.CreateTransaction();
        var increment = transaction.StringIncrementAsync(key);
        var set = transaction.StringSetAsync(key + ":other", "ran");

        Assert.True(await transaction.ExecuteAsync());
        var error = await Assert.ThrowsAsync<RedisServerException>(() => increment);
        Assert.Equal("ERR value is not an integer or out of range", error.Message);
        Assert.True(await set);
        Assert.Equal("ran", await db.StringGetAsync(key + ":other"));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Execute_info_returns_the_server_sections(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);

        var info = (string?)await redis.GetDatabase().ExecuteAsync("INFO");

        Assert.Contains("# Server\r\nredis_version:7.2.4\r\n", info, StringComparison.Ordinal);
        Assert.Contains("loading:0", info, StringComparison.Ordinal);
        Assert.Contains($"tcp_port:{server.Port}", info, StringComparison.Ordinal);
        var parsed = await Server(redis).InfoAsync("clients");
        Assert.Contains(parsed.SelectMany(group => group), pair => pair.Key == "connected_clients");
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Server_keys_scans_every_matching_key(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);
        var db = redis.GetDatabase();
        var key = Key(protocol, "scan");
        await db.StringSetAsync(Enumerable.Range(0, 1000).Select(i => new KeyValuePair<RedisKey, RedisValue>($"{key}:{i}", i)).ToArray());

        var found = new List<string>();
        await foreach (var k in Server(redis).KeysAsync(pattern: key + ":*", pageSize: 100))
            found.Add(k!);

        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"{key}:{i}").Order(StringComparer.Ordinal), found.Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(found.Count, Server(redis).Keys(pattern: key + ":*", pageSize: 250).Count());
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Ping_round_trips_on_the_database_and_the_server(RedisProtocol protocol)
    {
        await using var redis = await ConnectAsync(protocol);

        var viaDatabase = await redis.GetDatabase().PingAsync();
        var viaServer = await Server(redis).PingAsync();

        Assert.InRange(viaDatabase, TimeSpan.Zero, s_deadline);
        Assert.InRange(viaServer, TimeSpan.Zero, s_deadline);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Subscribers_of_a_channel_and_of_a_pattern_receive_what_another_connection_publishes(RedisProtocol protocol)
    {
        await using var subscriberConnection = await ConnectAsync(protocol);
        await using var publisherConnection = await ConnectAsync(protocol);
        var channel = RedisChannel.Literal(Key(protocol, "news:tech"));
        var subscriber = subscriberConnection.GetSubscriber();
        var literal = await subscriber.SubscribeAsync(channel);
        var pattern = await subscriber.SubscribeAsync(RedisChannel.Pattern(Key(protocol, "news:*")));
        var publisher = publisherConnection.GetSubscriber();

        Assert.Equal(2, await publisher.PublishAsync(channel, "héllo"));
        Assert.Equal("héllo", (await literal.ReadAsync().AsTask().WaitAsync(s_deadline)).Message);
        var viaPattern = await pattern.ReadAsync().AsTask().WaitAsync(s_deadline);
        Assert.Equal((channel.ToString(), "héllo"), (viaPattern.Channel.ToString(), (string?)viaPattern.Message));

        var server = Server(publisherConnection);
        Assert.Equal(1, await server.SubscriptionSubscriberCountAsync(channel));
        Assert.Contains(channel, await server.SubscriptionChannelsAsync(RedisChannel.Pattern(Key(protocol, "news:*"))));
        Assert.True(await server.SubscriptionPatternCountAsync() >= 1);

        await literal.UnsubscribeAsync();
        Assert.Equal(1, await publisher.PublishAsync(channel, "pattern only"));
        Assert.Equal("pattern only", (await pattern.ReadAsync().AsTask().WaitAsync(s_deadline)).Message);
        await pattern.UnsubscribeAsync();
        Assert.Equal(0, await publisher.PublishAsync(channel, "nobody"));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Ten_thousand_pipelined_publishes_to_its_own_subscription_arrive_in_order_between_other_commands(RedisProtocol protocol)
    {
        // One multiplexer publishes and subscribes: in RESP3 on the very same connection, pushes among replies.
        await using var redis = await ConnectAsync(protocol);
        var channel = RedisChannel.Literal(Key(protocol, "ordered"));
        var queue = await redis.GetSubscriber().SubscribeAsync(channel);

        var published = Enumerable.Range(0, 10_000).Select(i => redis.GetSubscriber().PublishAsync(channel, i)).ToList();
        var db = redis.GetDatabase();
        Assert.True(await db.StringSetAsync(Key(protocol, "during"), "v"));
        Assert.All(await Task.WhenAll(published), receivers => Assert.Equal(1, receivers));

        for (var i = 0; i < 10_000; i++)
            Assert.Equal(i, (int)(await queue.ReadAsync().AsTask().WaitAsync(s_deadline)).Message);
        Assert.Equal("v", await db.StringGetAsync(Key(protocol, "during")));
    }

    private async Task<ConnectionMultiplexer> ConnectAsync(RedisProtocol protocol)
    {
        var options = new ConfigurationOptions
        {
            EndPoints = { new IPEndPoint(IPAddress.Loopback, server.Port) },
            Protocol = protocol,
            AbortOnConnectFail = true,
            AllowAdmin = true,
            ConnectRetry = 1,
            ConnectTimeout = (int)s_deadline.TotalMilliseconds,
            SyncTimeout = (int)s_deadline.TotalMilliseconds,
            AsyncTimeout = (int)s_deadline.TotalMilliseconds,
        };
        var log = new StringWriter();
        try
        {
            return await ConnectionMultiplexer.ConnectAsync(options, log);
        }
        catch (RedisConnectionException ex)
        {
            throw new InvalidOperationException($"Connecting failed: {ex.Message}{Environment.NewLine}{log}", ex);
        }
    }

    private static IServer Server(ConnectionMultiplexer redis) => redis.GetServer(redis.GetEndPoints().Single());

    private static string Key(RedisProtocol protocol, string name) => $"se:{protocol}:{name}";
}

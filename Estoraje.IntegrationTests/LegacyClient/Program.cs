using StackExchange.Redis;

// Exercises StackExchange.Redis 2.7 against the server at 127.0.0.1:<port>; exit code 0 when every check passes.
if (!Checks.TryReadPort(args, "LegacyClient", out var port))
    return 2;

var options = new ConfigurationOptions { EndPoints = { { "127.0.0.1", port } }, AbortOnConnectFail = true, ConnectTimeout = 5000 };
using var connection = await ConnectionMultiplexer.ConnectAsync(options);
var db = connection.GetDatabase();
var checks = new Checks("legacy client");

checks.That(await db.StringSetAsync("legacy:k", "v"), "SET");
checks.That(await db.StringGetAsync("legacy:k") == "v", "GET");
checks.That(await db.StringSetAsync("legacy:ttl", "v", TimeSpan.FromSeconds(100)), "SET with expiry");
var ttl = await db.KeyTimeToLiveAsync("legacy:ttl");
checks.That(ttl is { TotalSeconds: > 90 and <= 100 }, $"TTL {ttl}");
checks.That(await db.StringIncrementAsync("legacy:n", 5) == 5, "INCRBY");
checks.That(await db.KeyDeleteAsync("legacy:k"), "UNLINK/DEL");
checks.That(!await db.KeyExistsAsync("legacy:k"), "EXISTS after delete");

var batch = db.CreateBatch();
var sets = Enumerable.Range(0, 1000).Select(i => batch.StringSetAsync($"legacy:b:{i}", i)).ToArray();
batch.Execute();
await Task.WhenAll(sets);
var values = await db.StringGetAsync(Enumerable.Range(0, 1000).Select(i => (RedisKey)$"legacy:b:{i}").ToArray());
checks.That(values.Select((v, i) => (int)v == i).All(x => x), "MGET after a batch of 1000 SETs");

var server = connection.GetServer("127.0.0.1", port);
checks.That(server.Version.Major >= 7, $"server version {server.Version}");
checks.That(server.Keys(pattern: "legacy:b:*").Count() == 1000, "SCAN MATCH");

return checks.Report();

using StackExchange.Redis;

// Exercises StackExchange.Redis 2.7 against the server at 127.0.0.1:<port>; exit code 0 when every check passes.
if (args.Length != 1 || !int.TryParse(args[0], out var port))
{
    Console.Error.WriteLine("usage: LegacyClient <port>");
    return 2;
}

var options = new ConfigurationOptions { EndPoints = { { "127.0.0.1", port } }, AbortOnConnectFail = true, ConnectTimeout = 5000 };
using var connection = await ConnectionMultiplexer.ConnectAsync(options);
var db = connection.GetDatabase();
var failures = 0;

void Check(bool ok, string what)
{
    if (ok)
        return;
    failures++;
    Console.Error.WriteLine("FAILED: " + what);
}

Check(await db.StringSetAsync("legacy:k", "v"), "SET");
Check(await db.StringGetAsync("legacy:k") == "v", "GET");
Check(await db.StringSetAsync("legacy:ttl", "v", TimeSpan.FromSeconds(100)), "SET with expiry");
var ttl = await db.KeyTimeToLiveAsync("legacy:ttl");
Check(ttl is { TotalSeconds: > 90 and <= 100 }, $"TTL {ttl}");
Check(await db.StringIncrementAsync("legacy:n", 5) == 5, "INCRBY");
Check(await db.KeyDeleteAsync("legacy:k"), "UNLINK/DEL");
Check(!await db.KeyExistsAsync("legacy:k"), "EXISTS after delete");

var batch = db.CreateBatch();
var sets = Enumerable.Range(0, 1000).Select(i => batch.StringSetAsync($"legacy:b:{i}", i)).ToArray();
batch.Execute();
await Task.WhenAll(sets);
var values = await db.StringGetAsync(Enumerable.Range(0, 1000).Select(i => (RedisKey)$"legacy:b:{i}").ToArray());
Check(values.Select((v, i) => (int)v == i).All(x => x), "MGET after a batch of 1000 SETs");

var server = connection.GetServer("127.0.0.1", port);
Check(server.Version.Major >= 7, $"server version {server.Version}");
Check(server.Keys(pattern: "legacy:b:*").Count() == 1000, "SCAN MATCH");

Console.WriteLine(failures == 0 ? "legacy client: all checks passed" : $"legacy client: {failures} checks failed");
return failures == 0 ? 0 : 1;

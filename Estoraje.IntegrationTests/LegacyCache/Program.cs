using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

// Exercises RedisCache 7.0 (IDistributedCache over Lua scripts) against 127.0.0.1:<port>; exit code 0 when every check
// passes. Further ports name the nodes whose command statistics count the scripts run (a cluster's nodes behind a
// proxy: a script runs on its key's primary); by default the one server.
if (!Checks.TryReadPort(args, "LegacyCache", out var port))
    return 2;

var endpoint = $"127.0.0.1:{port}";
using var cache = new RedisCache(Options.Create(new RedisCacheOptions { Configuration = endpoint, InstanceName = "legacy:" }));
using var redis = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { endpoint }, AllowAdmin = true });
var db = redis.GetDatabase();
var checks = new Checks("legacy cache");
var statsOptions = new ConfigurationOptions { AllowAdmin = true };
foreach (var statsPort in args.Length > 1 ? args[1..] : [port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
    statsOptions.EndPoints.Add($"127.0.0.1:{statsPort}");
using var stats = await ConnectionMultiplexer.ConnectAsync(statsOptions);

long ScriptCalls()
{
    // cmdstat_eval and cmdstat_evalsha: the cache's writes must have gone through scripts.
    long calls = 0;
    foreach (var server in stats.GetServers())
    {
        foreach (var group in server.Info("commandstats"))
        {
            foreach (var (name, value) in group)
            {
                if (name is "cmdstat_eval" or "cmdstat_evalsha")
                    calls += long.Parse(value.Split(',')[0]["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }
    }

    return calls;
}

var before = ScriptCalls();
byte[] payload = [1, 2, 3, 0, 255, (byte)'\r', (byte)'\n'];

// Absolute expiry: the hash holds the fields RedisCache reads back, and the key expires when the entry does.
await cache.SetAsync("absolute", payload, new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(300) });
checks.That((await cache.GetAsync("absolute"))?.SequenceEqual(payload) == true, "Get after Set with absolute expiry");
var absoluteTtl = await db.KeyTimeToLiveAsync("legacy:absolute");
checks.That(absoluteTtl is { TotalSeconds: > 280 and <= 300 }, $"TTL of an absolute entry: {absoluteTtl}");
var fields = (await db.HashGetAllAsync("legacy:absolute")).ToDictionary(e => (string)e.Name!, e => e.Value);
checks.That(fields.ContainsKey("absexp") && fields.ContainsKey("sldexp") && fields.ContainsKey("data"), "hash fields absexp, sldexp, data");
checks.That(fields.TryGetValue("sldexp", out var noSliding) && noSliding == "-1", "sldexp of an absolute entry");

// Sliding expiry: the TTL is the sliding window, and Refresh (and Get) push it back.
await cache.SetStringAsync("sliding", "hello", new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(120) });
checks.That(await cache.GetStringAsync("sliding") == "hello", "Get after Set with sliding expiry");
await db.KeyExpireAsync("legacy:sliding", TimeSpan.FromSeconds(5));
await cache.RefreshAsync("sliding");
var slidingTtl = await db.KeyTimeToLiveAsync("legacy:sliding");
checks.That(slidingTtl is { TotalSeconds: > 100 and <= 120 }, $"TTL after Refresh: {slidingTtl}");

// Both: the sliding window, capped by the absolute expiry.
await cache.SetStringAsync("both", "x", new DistributedCacheEntryOptions
{
    SlidingExpiration = TimeSpan.FromSeconds(200),
    AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(60),
});
var bothTtl = await db.KeyTimeToLiveAsync("legacy:both");
checks.That(bothTtl is { TotalSeconds: > 40 and <= 60 }, $"TTL with sliding and absolute expiry: {bothTtl}");

// No expiry at all: the script skips EXPIRE.
await cache.SetStringAsync("forever", "y", new DistributedCacheEntryOptions());
checks.That(await db.KeyTimeToLiveAsync("legacy:forever") is null, "no TTL without expiry");

await cache.RemoveAsync("absolute");
checks.That(await cache.GetAsync("absolute") is null, "Get after Remove");
checks.That(!await db.KeyExistsAsync("legacy:absolute"), "key gone after Remove");
checks.That(await cache.GetAsync("never-set") is null, "Get of a missing entry");

var scripted = ScriptCalls() - before;
checks.That(scripted >= 4, $"Set went through EVAL/EVALSHA ({scripted} script calls)");

return checks.Report();

using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>
/// Lists, sets and sorted sets in a 3-node static cluster keeping 3 copies: writes sent to a node that is not the
/// key's primary are forwarded, and every replica ends up holding the same collection; keys of several slots are
/// refused, and a numkeys command routes by all its keys.
/// </summary>
public sealed class CollectionReplicationTests : IAsyncLifetime
{
    private const string Secret = "collections-secret";
    private readonly StaticMembers _members = new(3, Secret);
    private readonly List<EstorajeServerProcess> _nodes = [];

    public async Task InitializeAsync() =>
        // Quorum 3: a write is acknowledged once all three copies hold it, so each node can be read right after.
        // Without anti-entropy, a copy can only come from the write's own replication.
        _nodes.AddRange(await Task.WhenAll(Enumerable.Range(0, 3).Select(n =>
            _members.StartAsync(n, "--replicas", "3", "--write-quorum", "3", "--anti-entropy-interval", "0"))));

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
            await node.DisposeAsync();
    }

    [Fact]
    public async Task Writes_through_a_node_that_is_not_the_primary_leave_the_same_collection_on_every_replica()
    {
        // One hash tag: every key below lives in one slot, so the multi-key commands may run.
        const string list = "{coll}list", other = "{coll}other", set = "{coll}set", set2 = "{coll}set2", stored = "{coll}stored";
        var located = RespReply.AsMap(RespReply.Parse(await _members.LocalCommandAsync(0, "ESTORAJE", "LOCATE", list)));
        var primary = int.Parse(((string)located["primary"]!)[1..], System.Globalization.CultureInfo.InvariantCulture);
        var entry = (primary + 1) % 3;

        await using (var client = await RespConnection.ConnectAsync(_nodes[entry].Port))
        {
            Assert.Equal(":3\r\n", await client.CommandAsync("RPUSH", list, "a", "b", "c"));
            Assert.Equal(":5\r\n", await client.CommandAsync("LPUSH", list, "y", "z"));
            Assert.Equal("$1\r\nc\r\n", await client.CommandAsync("LMOVE", list, other, "RIGHT", "LEFT"));
            Assert.Equal("+OK\r\n", await client.CommandAsync("LSET", list, "0", "Z"));
            Assert.Equal(":4\r\n", await client.CommandAsync("RPUSH", other, "d", "e", "f"));
            // LMPOP names its keys through numkeys: its change must be copied like any other write's.
            Assert.Equal("*2\r\n$11\r\n{coll}other\r\n*2\r\n$1\r\nc\r\n$1\r\nd\r\n", await client.CommandAsync("LMPOP", "2", "{coll}none", other, "LEFT", "COUNT", "2"));
            Assert.Equal(":4\r\n", await client.CommandAsync("SADD", set, "a", "b", "c", "d"));
            Assert.Equal(":1\r\n", await client.CommandAsync("SREM", set, "d"));
            Assert.Equal(":3\r\n", await client.CommandAsync("SADD", set2, "b", "c", "x"));
            Assert.Equal(":2\r\n", await client.CommandAsync("SINTERSTORE", stored, set, set2));
            Assert.Equal(":1\r\n", await client.CommandAsync("SMOVE", set2, set, "x"));
            Assert.Equal(":2\r\n", await client.CommandAsync("SINTERCARD", "2", set, set2));
        }

        for (var node = 0; node < 3; node++)
        {
            Assert.Equal(["Z", "y", "a", "b"], Strings(await _members.LocalCommandAsync(node, "LRANGE", list, "0", "-1")));
            Assert.Equal(["e", "f"], Strings(await _members.LocalCommandAsync(node, "LRANGE", other, "0", "-1")));
            Assert.Equal(["a", "b", "c", "x"], Strings(await _members.LocalCommandAsync(node, "SMEMBERS", set)).Order());
            Assert.Equal(["b", "c"], Strings(await _members.LocalCommandAsync(node, "SMEMBERS", set2)).Order());
            Assert.Equal(["b", "c"], Strings(await _members.LocalCommandAsync(node, "SMEMBERS", stored)).Order());
        }
    }

    [Fact]
    public async Task Commands_on_keys_of_several_slots_are_refused_with_crossslot()
    {
        await using var client = await RespConnection.ConnectAsync(_nodes[0].Port);
        Assert.Equal(":1\r\n", await client.CommandAsync("SADD", "cross-a", "m"));
        Assert.Equal(":1\r\n", await client.CommandAsync("RPUSH", "cross-b", "e"));
        const string crossSlot = "-CROSSSLOT Keys in request don't hash to the same slot\r\n";
        Assert.Equal(crossSlot, await client.CommandAsync("SINTERCARD", "2", "cross-a", "cross-c"));
        Assert.Equal(crossSlot, await client.CommandAsync("SUNIONSTORE", "cross-d", "cross-a"));
        Assert.Equal(crossSlot, await client.CommandAsync("SMOVE", "cross-a", "cross-c", "m"));
        Assert.Equal(crossSlot, await client.CommandAsync("LMPOP", "2", "cross-b", "cross-c", "LEFT"));
        Assert.Equal(crossSlot, await client.CommandAsync("LMOVE", "cross-b", "cross-c", "LEFT", "LEFT"));
        // A key count that names no key runs where it is, and gets the command's own error.
        Assert.Equal("-ERR numkeys should be greater than 0\r\n", await client.CommandAsync("SINTERCARD", "0", "cross-a", "cross-c"));
        Assert.Equal(":1\r\n", await client.CommandAsync("SINTERCARD", "1", "cross-a"));
        Assert.Equal("*1\r\n$1\r\nm\r\n", await client.CommandAsync("SUNION", "cross-a"));
    }

    private static List<string> Strings(string reply) => ((List<object?>)RespReply.Parse(reply)!).Cast<string>().ToList();

    [Fact]
    public async Task A_sorted_set_written_through_a_node_that_is_not_primary_is_held_alike_by_every_replica()
    {
        const string key = "{board}scores";
        await using var any = await RespConnection.ConnectAsync(_nodes[0].Port);
        var location = RespReply.AsMap(RespReply.Parse(await any.CommandAsync("ESTORAJE", "LOCATE", key)));
        var primary = int.Parse(((string)location["primary"]!)[1..], System.Globalization.CultureInfo.InvariantCulture);
        var other = (primary + 1) % 3;

        await using var client = await RespConnection.ConnectAsync(_nodes[other].Port);
        Assert.Equal(":3\r\n", await client.CommandAsync("ZADD", key, "10", "ann", "20", "bob", "15", "cid"));
        Assert.Equal("$2\r\n25\r\n", await client.CommandAsync("ZINCRBY", key, "5", "bob"));
        Assert.Equal(":1\r\n", await client.CommandAsync("ZADD", "{board}other", "1", "ann"));
        Assert.Equal(":3\r\n", await client.CommandAsync("ZUNIONSTORE", "{board}sum", "2", key, "{board}other"));
        Assert.StartsWith("-CROSSSLOT", await client.CommandAsync("ZUNIONSTORE", "{board}sum", "2", key, "elsewhere"), StringComparison.Ordinal);
        Assert.Equal("*2\r\n$4\r\n{a}d\r\n$4\r\n{a}s\r\n", await client.CommandAsync("COMMAND", "GETKEYS", "ZUNIONSTORE", "{a}d", "1", "{a}s"));

        const string expected = "*6\r\n$3\r\nann\r\n$2\r\n10\r\n$3\r\ncid\r\n$2\r\n15\r\n$3\r\nbob\r\n$2\r\n25\r\n";
        const string sum = "*6\r\n$3\r\nann\r\n$2\r\n11\r\n$3\r\ncid\r\n$2\r\n15\r\n$3\r\nbob\r\n$2\r\n25\r\n";
        for (var node = 0; node < 3; node++)
        {
            Assert.Equal(expected, await _members.LocalCommandAsync(node, "ZRANGE", key, "0", "-1", "WITHSCORES"));
            Assert.Equal(sum, await _members.LocalCommandAsync(node, "ZRANGE", "{board}sum", "0", "-1", "WITHSCORES"));
        }

        Assert.Equal("*2\r\n$3\r\nann\r\n$2\r\n10\r\n", await client.CommandAsync("ZPOPMIN", key));
        for (var node = 0; node < 3; node++)
        {
            Assert.Equal(":2\r\n", await _members.LocalCommandAsync(node, "ZCARD", key));
        }
    }
}

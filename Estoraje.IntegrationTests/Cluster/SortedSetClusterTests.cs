using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>
/// Sorted sets in a 3-node static cluster keeping three copies, all acknowledged (N=3, W=3): a write sent to a node
/// that is not the key's primary is forwarded, and every replica then holds the same sorted set; a numkeys command
/// routes by all its keys.
/// </summary>
public sealed class SortedSetClusterTests : IAsyncLifetime
{
    private const string Secret = "zset-secret";
    private readonly StaticMembers _members = new(3, Secret);
    private readonly List<EstorajeServerProcess> _nodes = [];

    public async Task InitializeAsync() =>
        _nodes.AddRange(await Task.WhenAll(Enumerable.Range(0, 3).Select(i => _members.StartAsync(i, "--replicas", "3", "--write-quorum", "3"))));

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
            await node.DisposeAsync();
    }

    [Fact]
    public async Task A_write_through_a_node_that_is_not_primary_is_forwarded_and_every_replica_holds_the_set()
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
            await using var link = await RespConnection.ConnectAsync(_members.Ports[node].Peer);
            Assert.Equal("+OK\r\n", await link.CommandAsync("ESTORAJE.PEER", Secret));
            Assert.Equal(expected, await link.CommandAsync("ZRANGE", key, "0", "-1", "WITHSCORES"));
            Assert.Equal(sum, await link.CommandAsync("ZRANGE", "{board}sum", "0", "-1", "WITHSCORES"));
        }

        Assert.Equal("*2\r\n$3\r\nann\r\n$2\r\n10\r\n", await client.CommandAsync("ZPOPMIN", key));
        for (var node = 0; node < 3; node++)
        {
            await using var link = await RespConnection.ConnectAsync(_members.Ports[node].Peer);
            Assert.Equal("+OK\r\n", await link.CommandAsync("ESTORAJE.PEER", Secret));
            Assert.Equal(":2\r\n", await link.CommandAsync("ZCARD", key));
        }
    }
}

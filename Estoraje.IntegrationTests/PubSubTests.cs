using System.Text;
using Estoraje.IntegrationTests.Cluster;
using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests;

/// <summary>
/// Pub/sub on one node over raw sockets: messages reach a subscriber that sends nothing, RESP3 pushes interleave
/// with replies, a subscriber that stops reading is disconnected at its output limit without slowing the
/// publisher, and a closed connection's subscriptions go away. Each test uses its own channels.
/// </summary>
public sealed class PubSubTests(EstorajeFixture server) : IClassFixture<EstorajeFixture>
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task An_idle_resp2_subscriber_receives_each_message_as_it_is_published()
    {
        await using var subscriber = await RespConnection.ConnectAsync(server.Port);
        await using var publisher = await RespConnection.ConnectAsync(server.Port);
        Assert.Equal("*3\r\n$9\r\nsubscribe\r\n$9\r\nidle:news\r\n:1\r\n", await subscriber.CommandAsync("SUBSCRIBE", "idle:news"));
        Assert.Equal("*3\r\n$10\r\npsubscribe\r\n$6\r\nidle:*\r\n:2\r\n", await subscriber.CommandAsync("PSUBSCRIBE", "idle:*"));

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(":2\r\n", await publisher.CommandAsync("PUBLISH", "idle:news", $"m{i}"));
            Assert.Equal($"*3\r\n$7\r\nmessage\r\n$9\r\nidle:news\r\n$2\r\nm{i}\r\n", await subscriber.ReadReplyAsync());
            Assert.Equal($"*4\r\n$8\r\npmessage\r\n$6\r\nidle:*\r\n$9\r\nidle:news\r\n$2\r\nm{i}\r\n", await subscriber.ReadReplyAsync());
        }

        Assert.Equal(":1\r\n", await publisher.CommandAsync("PUBLISH", "idle:other", "p"));
        Assert.Equal("*4\r\n$8\r\npmessage\r\n$6\r\nidle:*\r\n$10\r\nidle:other\r\n$1\r\np\r\n", await subscriber.ReadReplyAsync());
        Assert.Equal("*2\r\n$4\r\npong\r\n$0\r\n\r\n", await subscriber.CommandAsync("PING"));
    }

    [Fact]
    public async Task A_resp3_subscriber_gets_pushes_between_the_replies_of_its_own_commands()
    {
        await using var subscriber = await RespConnection.ConnectAsync(server.Port);
        await using var publisher = await RespConnection.ConnectAsync(server.Port);
        await subscriber.CommandAsync("HELLO", "3");
        Assert.Equal(">3\r\n$9\r\nsubscribe\r\n$7\r\nr3:chat\r\n:1\r\n", await subscriber.CommandAsync("SUBSCRIBE", "r3:chat"));

        Assert.Equal(":1\r\n", await publisher.CommandAsync("PUBLISH", "r3:chat", "hello"));
        Assert.Equal(">3\r\n$7\r\nmessage\r\n$7\r\nr3:chat\r\n$5\r\nhello\r\n", await subscriber.ReadReplyAsync());
        Assert.Equal("+OK\r\n", await subscriber.CommandAsync("SET", "r3:key", "v"));
        Assert.Equal("$1\r\nv\r\n", await subscriber.CommandAsync("GET", "r3:key"));
        // Publishing to its own channel: the push comes first, then the reply, as from Redis.
        Assert.Equal(">3\r\n$7\r\nmessage\r\n$7\r\nr3:chat\r\n$4\r\nself\r\n", await subscriber.CommandAsync("PUBLISH", "r3:chat", "self"));
        Assert.Equal(":1\r\n", await subscriber.ReadReplyAsync());
        Assert.Equal(">3\r\n$11\r\nunsubscribe\r\n$7\r\nr3:chat\r\n:0\r\n", await subscriber.CommandAsync("UNSUBSCRIBE"));
        Assert.Equal(":0\r\n", await publisher.CommandAsync("PUBLISH", "r3:chat", "gone"));
    }

    [Fact]
    public async Task A_subscriber_that_stops_reading_is_disconnected_past_32_mb_and_the_publisher_never_waits_for_it()
    {
        await using var stalled = await RespConnection.ConnectAsync(server.Port);
        await using var healthy = await RespConnection.ConnectAsync(server.Port);
        await using var publisher = await RespConnection.ConnectAsync(server.Port);
        await stalled.CommandAsync("SUBSCRIBE", "slow:feed");
        await healthy.CommandAsync("SUBSCRIBE", "slow:feed");
        var payload = new string('x', 1024 * 1024);

        // 48 MB for a reader that reads nothing: the loopback socket buffers take a few MB, the rest waits in the
        // server until the outbox passes 32 MB. The healthy subscriber keeps receiving throughout.
        for (var i = 0; i < 48; i++)
        {
            var receivers = await publisher.CommandAsync("PUBLISH", "slow:feed", payload);
            Assert.True(receivers is ":2\r\n" or ":1\r\n", receivers);
            Assert.EndsWith($"${payload.Length}\r\n{payload}\r\n", await healthy.ReadReplyAsync(), StringComparison.Ordinal);
        }

        await ClusterNodes.EventuallyAsync(
            async () => await publisher.CommandAsync("PUBSUB", "NUMSUB", "slow:feed") == "*2\r\n$9\r\nslow:feed\r\n:1\r\n",
            s_deadline, async () => "still subscribed: " + RespConnection.Escape(await publisher.CommandAsync("PUBSUB", "NUMSUB", "slow:feed")));
        var received = await stalled.ReadUntilClosedAsync(s_deadline);
        Assert.True(received.Length < 40 * payload.Length, $"the stalled subscriber was sent {received.Length} bytes");
        Assert.Equal(":1\r\n", await publisher.CommandAsync("PUBLISH", "slow:feed", "after"));
    }

    [Fact]
    public async Task Closing_a_subscribers_connection_removes_its_subscriptions()
    {
        await using var publisher = await RespConnection.ConnectAsync(server.Port);
        var subscriber = await RespConnection.ConnectAsync(server.Port);
        await subscriber.CommandAsync("SUBSCRIBE", "closing:a");
        await subscriber.CommandAsync("PSUBSCRIBE", "closing:pattern:*");
        Assert.Equal("*2\r\n$9\r\nclosing:a\r\n:1\r\n", await publisher.CommandAsync("PUBSUB", "NUMSUB", "closing:a"));

        await subscriber.DisposeAsync();

        await ClusterNodes.EventuallyAsync(
            async () => await publisher.CommandAsync("PUBLISH", "closing:pattern:x", "m") == ":0\r\n" &&
                        await publisher.CommandAsync("PUBSUB", "CHANNELS", "closing:*") == "*0\r\n",
            s_deadline, async () => RespConnection.Escape(await publisher.CommandAsync("PUBSUB", "CHANNELS", "closing:*")));
    }

    [Fact]
    public async Task Info_and_client_list_show_the_subscriptions()
    {
        await using var subscriber = await RespConnection.ConnectAsync(server.Port);
        await using var observer = await RespConnection.ConnectAsync(server.Port);
        await subscriber.CommandAsync("CLIENT", "SETNAME", "info-subscriber");
        await subscriber.SendAsync(Encoding.UTF8.GetBytes("SUBSCRIBE info:a info:b\r\nPSUBSCRIBE info:*\r\nSSUBSCRIBE info:s\r\n"));
        for (var i = 0; i < 4; i++)
            await subscriber.ReadReplyAsync();

        var list = (string)RespReply.Parse(await observer.CommandAsync("CLIENT", "LIST", "TYPE", "pubsub"))!;
        var stats = (string)RespReply.Parse(await observer.CommandAsync("INFO", "stats"))!;

        Assert.Contains(" name=info-subscriber ", list, StringComparison.Ordinal);
        Assert.Contains(" flags=P db=0 sub=2 psub=1 ssub=1 ", list, StringComparison.Ordinal);
        Assert.Matches(@"pubsub_channels:\d+\r\npubsub_patterns:\d+\r\npubsubshard_channels:\d+\r\n", stats);
        Assert.DoesNotContain("pubsub_channels:0\r\n", stats, StringComparison.Ordinal);
    }
}

using System.Diagnostics;
using Estoraje.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>
/// Pub/sub across three nodes with a fixed member list: a message published on any node reaches the subscribers of
/// every node, channels and patterns, RESP2 and RESP3; PUBLISH counts them all; PUBSUB answers for the cluster.
/// </summary>
public sealed class PubSubClusterTests(StaticClusterFixture cluster) : IClassFixture<StaticClusterFixture>
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(15);
    private readonly List<EstorajeServerProcess> _nodes = cluster.Nodes;

    [Fact]
    public async Task Subscribers_on_every_node_receive_what_is_published_on_any_node()
    {
        await using var resp2 = await RespConnection.ConnectAsync(_nodes[0].Port);
        await using var resp3 = await RespConnection.ConnectAsync(_nodes[1].Port);
        await resp2.CommandAsync("SUBSCRIBE", "everywhere:news");
        await resp2.CommandAsync("PSUBSCRIBE", "everywhere:*");
        await resp3.CommandAsync("HELLO", "3");
        await resp3.CommandAsync("SUBSCRIBE", "everywhere:news");

        for (var from = 0; from < 3; from++)
        {
            await using var publisher = await RespConnection.ConnectAsync(_nodes[from].Port);
            var text = $"from-node-{from}";

            // Three deliveries: the channel and the pattern on node 0, the channel on node 1.
            Assert.Equal(":3\r\n", await publisher.CommandAsync("PUBLISH", "everywhere:news", text));
            Assert.Equal($"*3\r\n$7\r\nmessage\r\n$15\r\neverywhere:news\r\n${text.Length}\r\n{text}\r\n", await resp2.ReadReplyAsync());
            Assert.Equal($"*4\r\n$8\r\npmessage\r\n$12\r\neverywhere:*\r\n$15\r\neverywhere:news\r\n${text.Length}\r\n{text}\r\n", await resp2.ReadReplyAsync());
            Assert.Equal($">3\r\n$7\r\nmessage\r\n$15\r\neverywhere:news\r\n${text.Length}\r\n{text}\r\n", await resp3.ReadReplyAsync());
            Assert.Equal(":1\r\n", await publisher.CommandAsync("PUBLISH", "everywhere:else", text));
            Assert.Equal($"*4\r\n$8\r\npmessage\r\n$12\r\neverywhere:*\r\n$15\r\neverywhere:else\r\n${text.Length}\r\n{text}\r\n", await resp2.ReadReplyAsync());
        }
    }

    [Fact]
    public async Task Shard_channels_are_published_to_every_node_too()
    {
        await using var subscriber = await RespConnection.ConnectAsync(_nodes[2].Port);
        await using var publisher = await RespConnection.ConnectAsync(_nodes[0].Port);
        await subscriber.CommandAsync("SSUBSCRIBE", "{shard}orders");

        Assert.Equal(":1\r\n", await publisher.CommandAsync("SPUBLISH", "{shard}orders", "o1"));
        Assert.Equal("*3\r\n$8\r\nsmessage\r\n$13\r\n{shard}orders\r\n$2\r\no1\r\n", await subscriber.ReadReplyAsync());
        Assert.Equal(":0\r\n", await publisher.CommandAsync("PUBLISH", "{shard}orders", "not a shard message"));
        Assert.Equal("*2\r\n$13\r\n{shard}orders\r\n:1\r\n", await publisher.CommandAsync("PUBSUB", "SHARDNUMSUB", "{shard}orders"));
        Assert.Equal("*1\r\n$13\r\n{shard}orders\r\n", await publisher.CommandAsync("PUBSUB", "SHARDCHANNELS", "{shard}*"));
    }

    [Fact]
    public async Task Pubsub_channels_and_numsub_answer_for_the_whole_cluster()
    {
        await using var a = await RespConnection.ConnectAsync(_nodes[0].Port);
        await using var b = await RespConnection.ConnectAsync(_nodes[1].Port);
        await using var asker = await RespConnection.ConnectAsync(_nodes[2].Port);
        await a.CommandAsync("SUBSCRIBE", "census:x");
        await a.CommandAsync("SUBSCRIBE", "census:y");
        await b.CommandAsync("SUBSCRIBE", "census:x");
        await asker.CommandAsync("HELLO", "3");

        await using var other = await RespConnection.ConnectAsync(_nodes[1].Port);
        var channels = (List<object?>)RespReply.Parse(await other.CommandAsync("PUBSUB", "CHANNELS", "census:*"))!;
        Assert.Equal(["census:x", "census:y"], channels.Cast<string>().Order(StringComparer.Ordinal));
        Assert.Equal("*6\r\n$8\r\ncensus:x\r\n:2\r\n$8\r\ncensus:y\r\n:1\r\n$8\r\ncensus:z\r\n:0\r\n",
            await asker.CommandAsync("PUBSUB", "NUMSUB", "census:x", "census:y", "census:z"));
        Assert.Equal("*0\r\n", await asker.CommandAsync("PUBSUB", "NUMSUB"));

        await b.CommandAsync("UNSUBSCRIBE", "census:x");
        Assert.Equal("*2\r\n$8\r\ncensus:x\r\n:1\r\n", await asker.CommandAsync("PUBSUB", "NUMSUB", "census:x"));
    }

    [Fact]
    public async Task Ten_thousand_messages_from_one_publisher_reach_a_subscriber_on_another_node_in_order()
    {
        await using var subscriber = await RespConnection.ConnectAsync(_nodes[0].Port);
        await using var publisher = await RespConnection.ConnectAsync(_nodes[2].Port);
        await subscriber.CommandAsync("SUBSCRIBE", "ordered:feed");
        var batch = new MemoryStream();
        for (var i = 0; i < 10_000; i++)
            batch.Write(RespConnection.Encode("PUBLISH", "ordered:feed", $"m{i}"));

        await publisher.SendAsync(batch.ToArray());

        for (var i = 0; i < 10_000; i++)
        {
            Assert.Equal(":1\r\n", await publisher.ReadReplyAsync());
            var expected = $"*3\r\n$7\r\nmessage\r\n$12\r\nordered:feed\r\n${$"m{i}".Length}\r\nm{i}\r\n";
            var message = await subscriber.ReadReplyAsync();
            if (message != expected)
                Assert.Fail($"Message {i}: {RespConnection.Escape(message)}");
        }
    }

    [Fact]
    public async Task A_publish_inside_a_transaction_reaches_every_node_wherever_the_transaction_runs()
    {
        await using var subscriber = await RespConnection.ConnectAsync(_nodes[0].Port);
        await using var client = await RespConnection.ConnectAsync(_nodes[1].Port);
        await subscriber.CommandAsync("SUBSCRIBE", "tx:news");

        // Without keys the transaction runs on node 1; with a key, on that key's primary, whichever node it is.
        foreach (var key in (string[])["", "tx:a", "tx:b", "tx:c", "tx:d"])
        {
            Assert.Equal("+OK\r\n", await client.CommandAsync("MULTI"));
            if (key.Length > 0)
                Assert.Equal("+QUEUED\r\n", await client.CommandAsync("SET", key, "v"));
            Assert.Equal("+QUEUED\r\n", await client.CommandAsync("PUBLISH", "tx:news", $"in{key}"));
            var exec = (List<object?>)RespReply.Parse(await client.CommandAsync("EXEC"))!;
            Assert.IsType<long>(exec[^1]);
            Assert.Equal($"*3\r\n$7\r\nmessage\r\n$7\r\ntx:news\r\n${$"in{key}".Length}\r\nin{key}\r\n", await subscriber.ReadReplyAsync());
        }
    }

    [Fact]
    public async Task A_publish_from_a_script_reaches_every_node_wherever_the_script_runs()
    {
        await using var subscriber = await RespConnection.ConnectAsync(_nodes[0].Port);
        await using var client = await RespConnection.ConnectAsync(_nodes[1].Port);
        await subscriber.CommandAsync("SUBSCRIBE", "lua:news");

        // Without keys the script runs on node 1; with a key, on that key's primary, whichever node it is.
        foreach (var key in (string[])["", "lua:a", "lua:b", "lua:c", "lua:d"])
        {
            string[] keys = key.Length > 0 ? ["1", key] : ["0"];
            Assert.StartsWith(":", await client.CommandAsync(["EVAL", "return redis.call('publish', 'lua:news', 'from' .. (KEYS[1] or ''))", .. keys]), StringComparison.Ordinal);
            Assert.Equal($"*3\r\n$7\r\nmessage\r\n$8\r\nlua:news\r\n${$"from{key}".Length}\r\nfrom{key}\r\n", await subscriber.ReadReplyAsync());
        }
    }

    [Theory]
    [InlineData(RedisProtocol.Resp2)]
    [InlineData(RedisProtocol.Resp3)]
    public Task A_signalr_backplane_on_two_nodes_carries_broadcasts_and_groups(RedisProtocol protocol) =>
        SignalRApp.AssertBackplaneDeliversAsync(_nodes[0].Port, _nodes[1].Port, protocol);

    [Fact]
    public Task Ioredis_and_node_redis_subscribers_on_one_node_receive_what_is_published_on_another() =>
        NodeScript.RunAsync("pubsub.mjs", _nodes[1].Port, 3, _nodes[2].Port);
}

/// <summary>Pub/sub on three nodes of its own per test, whose every subscription the test knows: NUMPAT, a node down.</summary>
public sealed class PubSubOwnClusterTests
{
    [Fact]
    public async Task Pubsub_numpat_counts_each_pattern_of_the_cluster_once()
    {
        await WithClusterAsync("pubsub-numpat", async nodes =>
        {
            await using var a = await RespConnection.ConnectAsync(nodes[0].Port);
            await using var b = await RespConnection.ConnectAsync(nodes[1].Port);
            await using var asker = await RespConnection.ConnectAsync(nodes[2].Port);
            Assert.Equal(":0\r\n", await asker.CommandAsync("PUBSUB", "NUMPAT"));

            // Two patterns, two confirmations each: both read before going on.
            await a.CommandAsync("PSUBSCRIBE", "p:*", "q:*");
            await a.ReadReplyAsync();
            await b.CommandAsync("PSUBSCRIBE", "p:*", "r:*");
            await b.ReadReplyAsync();

            Assert.Equal(":3\r\n", await asker.CommandAsync("PUBSUB", "NUMPAT"));
            await a.CommandAsync("PUNSUBSCRIBE", "p:*");
            Assert.Equal(":3\r\n", await asker.CommandAsync("PUBSUB", "NUMPAT"));
            await b.CommandAsync("PUNSUBSCRIBE");
            await b.ReadReplyAsync();
            Assert.Equal(":1\r\n", await asker.CommandAsync("PUBSUB", "NUMPAT"));
        });
    }

    [Fact]
    public async Task Publish_on_a_node_whose_peer_is_down_reaches_the_others_and_replies_at_once()
    {
        await WithClusterAsync("pubsub-down", async nodes =>
        {
            await using var subscriber = await RespConnection.ConnectAsync(nodes[1].Port);
            await subscriber.CommandAsync("SUBSCRIBE", "down:news");
            await using var publisher = await RespConnection.ConnectAsync(nodes[0].Port);
            Assert.Equal(":1\r\n", await publisher.CommandAsync("PUBLISH", "down:news", "before"));
            await subscriber.ReadReplyAsync();

            await nodes[2].DisposeAsync();

            for (var i = 0; i < 5; i++)
            {
                var watch = Stopwatch.StartNew();
                Assert.Equal(":1\r\n", await publisher.CommandAsync("PUBLISH", "down:news", $"after{i}"));
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"PUBLISH took {watch.Elapsed} with a node down");
                Assert.Equal($"*3\r\n$7\r\nmessage\r\n$9\r\ndown:news\r\n$6\r\nafter{i}\r\n", await subscriber.ReadReplyAsync());
            }

            Assert.Equal("*2\r\n$9\r\ndown:news\r\n:1\r\n", await publisher.CommandAsync("PUBSUB", "NUMSUB", "down:news"));
        });
    }

    [Fact]
    public async Task A_stopped_node_holds_publishers_up_for_seconds_at_most_and_gets_messages_again_once_it_resumes()
    {
        await WithClusterAsync("pubsub-stopped", async nodes =>
        {
            await using var awake = await RespConnection.ConnectAsync(nodes[1].Port);
            await using var sleeper = await RespConnection.ConnectAsync(nodes[2].Port);
            await awake.CommandAsync("SUBSCRIBE", "stop:news");
            await sleeper.CommandAsync("SUBSCRIBE", "stop:news");
            await using var publisher = await RespConnection.ConnectAsync(nodes[0].Port);
            Assert.Equal(":2\r\n", await publisher.CommandAsync("PUBLISH", "stop:news", "both"));

            await SignalAsync("STOP", nodes[2].ProcessId);
            try
            {
                // Each publish waits out the stopped node (two seconds) until its link has answered nothing for five;
                // from then on publishers no longer wait for it.
                var stoppedAt = Stopwatch.StartNew();
                var waited = 0;
                while (true)
                {
                    var watch = Stopwatch.StartNew();
                    Assert.Equal(":1\r\n", await publisher.CommandAsync("PUBLISH", "stop:news", $"waiting{waited}"));
                    if (watch.Elapsed < TimeSpan.FromMilliseconds(500))
                        break;
                    Assert.True(++waited <= 5, $"publishes still wait for the stopped node after {stoppedAt.Elapsed}");
                }

                Assert.True(waited >= 1, "the first publish after the stop did not wait for the stopped node's count");
                // Not one of them waits out the stopped node (two seconds), however slow a loaded machine makes them.
                var skipping = Stopwatch.StartNew();
                for (var i = 0; i < 20; i++)
                    Assert.Equal(":1\r\n", await publisher.CommandAsync("PUBLISH", "stop:news", $"skipped{i}"));
                Assert.True(skipping.Elapsed < TimeSpan.FromSeconds(2), $"20 publishes took {skipping.Elapsed} with a node stopped");
            }
            finally
            {
                await SignalAsync("CONT", nodes[2].ProcessId);
            }

            await ClusterNodes.EventuallyAsync(
                async () => await publisher.CommandAsync("PUBLISH", "stop:news", "resumed") == ":2\r\n",
                TimeSpan.FromSeconds(15), () => Task.FromResult("the resumed node never counted again"));
            var seen = new List<string>();
            while (!seen.Contains("resumed"))
                seen.Add((string)((List<object?>)RespReply.Parse(await sleeper.ReadReplyAsync())!)[2]!);
            Assert.Equal(["both", "waiting0"], seen.Take(2));
        });
    }

    // kill -SIGNAL pid: stops or continues one of the nodes this test started.
    private static async Task SignalAsync(string signal, int pid)
    {
        var (exitCode, _, error) = await ClientProgram.RunAsync("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.True(exitCode == 0, $"kill -{signal} {pid}: {error}");
    }

    // Three memory-store nodes with a fixed member list, stopped by PID when the test is done. Their ports are
    // chosen beforehand, so one may be taken meanwhile (a node then exits at once): the cluster gets new ports.
    private static async Task WithClusterAsync(string secret, Func<EstorajeServerProcess[], Task> test)
    {
        for (var attempt = 1; ; attempt++)
        {
            var members = new StaticMembers(3, secret);
            var starts = Enumerable.Range(0, 3).Select(i => members.StartAsync(i, "--replicas", "1", "--storage", "memory")).ToList();
            try
            {
                EstorajeServerProcess[] nodes;
                try
                {
                    nodes = await Task.WhenAll(starts);
                }
                catch (ServerStartException) when (attempt < 3)
                {
                    continue;
                }

                await test(nodes);
                return;
            }
            finally
            {
                foreach (var start in starts)
                {
                    if (start.IsCompletedSuccessfully)
                        await start.Result.DisposeAsync();
                }
            }
        }
    }
}

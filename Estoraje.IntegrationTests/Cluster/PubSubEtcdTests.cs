using System.Net;
using Estoraje.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>
/// Pub/sub on three nodes registered in a real etcd, behind a real HAProxy: StackExchange.Redis subscribers
/// wherever their connections land receive what is published through the proxy, and a SignalR app scaled out
/// over two nodes carries its messages between them.
/// </summary>
public sealed class PubSubEtcdTests()
    : EtcdClusterTest(3, "pubsub", "--replicas", "3", "--write-quorum", "2", "--cluster-secret", "pubsub-secret")
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(15);

    public override Task InitializeAsync() => StartAllBehindHaproxyAsync();

    [Fact]
    public async Task Stackexchange_redis_subscribers_on_every_node_and_behind_haproxy_receive_what_is_published_through_haproxy()
    {
        // One subscriber on each node directly, and three more through HAProxy, in both protocols.
        var ports = Nodes.Select(n => n!.Port).Concat(Enumerable.Repeat(Proxy!.Port, 3)).ToList();
        var subscribers = new List<(ConnectionMultiplexer Connection, ChannelMessageQueue Literal, ChannelMessageQueue Pattern)>();
        try
        {
            for (var i = 0; i < ports.Count; i++)
            {
                var connection = await ConnectAsync(ports[i], i % 2 == 0 ? RedisProtocol.Resp2 : RedisProtocol.Resp3);
                var subscriber = connection.GetSubscriber();
                subscribers.Add((connection, await subscriber.SubscribeAsync(RedisChannel.Literal("haproxy:news")),
                    await subscriber.SubscribeAsync(RedisChannel.Pattern("haproxy:*"))));
            }

            await using var publisherConnection = await ConnectAsync(Proxy.Port, RedisProtocol.Resp3);
            var publisher = publisherConnection.GetSubscriber();
            for (var round = 0; round < 3; round++)
            {
                Assert.Equal(2 * ports.Count, await publisher.PublishAsync(RedisChannel.Literal("haproxy:news"), $"round {round}"));
                foreach (var (_, literal, pattern) in subscribers)
                {
                    Assert.Equal($"round {round}", (string?)(await literal.ReadAsync().AsTask().WaitAsync(s_deadline)).Message);
                    Assert.Equal($"round {round}", (string?)(await pattern.ReadAsync().AsTask().WaitAsync(s_deadline)).Message);
                }
            }

            var server = publisherConnection.GetServer(publisherConnection.GetEndPoints().Single());
            Assert.Equal(ports.Count, await server.SubscriptionSubscriberCountAsync(RedisChannel.Literal("haproxy:news")));
        }
        finally
        {
            foreach (var (connection, _, _) in subscribers)
                await connection.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(RedisProtocol.Resp2)]
    [InlineData(RedisProtocol.Resp3)]
    public Task A_signalr_app_scaled_out_over_two_nodes_carries_broadcasts_and_groups(RedisProtocol protocol) =>
        SignalRApp.AssertBackplaneDeliversAsync(Nodes[0]!.Port, Nodes[2]!.Port, protocol);

    private static async Task<ConnectionMultiplexer> ConnectAsync(int port, RedisProtocol protocol) =>
        await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
        {
            EndPoints = { new IPEndPoint(IPAddress.Loopback, port) },
            Protocol = protocol,
            AbortOnConnectFail = true,
            ConnectTimeout = (int)s_deadline.TotalMilliseconds,
            AsyncTimeout = (int)s_deadline.TotalMilliseconds,
            SyncTimeout = (int)s_deadline.TotalMilliseconds,
        });
}

using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Estoraje.Resp;
using Estoraje.Server;
using Estoraje.Server.Hosting;
using Estoraje.Server.Messaging;
using Estoraje.Server.Network;
using Estoraje.Storage.Memory;
using Estoraje.Tests.Support;

namespace Estoraje.Tests.Server.Messaging;

/// <summary>Subscriptions, delivery counts, message encodings and the subscriber's outbox and output limit.</summary>
public sealed class PubSubHubTests
{
    private readonly ManualTime _time = new();
    private readonly ServerContext _server;

    public PubSubHubTests() => _server = new ServerContext(new ServerOptions(), new MemoryStore(), _time, () => { });

    private PubSubHub Hub => _server.PubSub;

    [Fact]
    public void Confirmation_counts_add_channels_and_patterns_but_keep_shard_channels_apart()
    {
        var subscriber = NewSubscriber();

        Assert.Equal([1, 2, 2], Hub.Subscribe(subscriber, SubscriptionKind.Channel, Names("a", "b", "a")));
        Assert.Equal([3], Hub.Subscribe(subscriber, SubscriptionKind.Pattern, Names("a*")));
        Assert.Equal([1], Hub.Subscribe(subscriber, SubscriptionKind.ShardChannel, Names("s")));
        Assert.Equal([("b", 2)], Text(Hub.Unsubscribe(subscriber, SubscriptionKind.Channel, Names("b"))));
        Assert.Equal([("zz", 2)], Text(Hub.Unsubscribe(subscriber, SubscriptionKind.Pattern, Names("zz"))));
    }

    [Fact]
    public void Publish_counts_one_delivery_per_matching_subscription_as_redis_does()
    {
        var both = NewSubscriber();
        var patternOnly = NewSubscriber();
        Hub.Subscribe(both, SubscriptionKind.Channel, Names("news.1"));
        Hub.Subscribe(both, SubscriptionKind.Pattern, Names("news.*"));
        Hub.Subscribe(patternOnly, SubscriptionKind.Pattern, Names("news.?", "sport.*"));

        Assert.Equal(3, Hub.Publish(false, Bytes("news.1"), Bytes("m")));
        Assert.Equal(0, Hub.Publish(false, Bytes("weather"), Bytes("m")));
        Assert.Equal("*3\r\n$7\r\nmessage\r\n$6\r\nnews.1\r\n$1\r\nm\r\n*4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$6\r\nnews.1\r\n$1\r\nm\r\n", Drained(both));
        Assert.Equal("*4\r\n$8\r\npmessage\r\n$6\r\nnews.?\r\n$6\r\nnews.1\r\n$1\r\nm\r\n", Drained(patternOnly));
    }

    [Fact]
    public void Shard_channels_are_reached_by_spublish_only_and_channels_by_publish_only()
    {
        var subscriber = NewSubscriber();
        Hub.Subscribe(subscriber, SubscriptionKind.ShardChannel, Names("orders"));
        Hub.Subscribe(subscriber, SubscriptionKind.Pattern, Names("*"));

        Assert.Equal(1, Hub.Publish(true, Bytes("orders"), Bytes("s")));
        Assert.Equal("*3\r\n$8\r\nsmessage\r\n$6\r\norders\r\n$1\r\ns\r\n", Drained(subscriber));
        Assert.Equal(1, Hub.Publish(false, Bytes("orders"), Bytes("p")));
        Assert.Equal("*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$6\r\norders\r\n$1\r\np\r\n", Drained(subscriber));
    }

    [Fact]
    public void Unsubscribing_from_all_of_one_kind_keeps_the_other_kinds()
    {
        var subscriber = NewSubscriber();
        Hub.Subscribe(subscriber, SubscriptionKind.Channel, Names("a", "b"));
        Hub.Subscribe(subscriber, SubscriptionKind.Pattern, Names("p*"));

        var removed = Text(Hub.Unsubscribe(subscriber, SubscriptionKind.Channel, null));

        Assert.Equal(["a", "b"], removed.Select(r => r.Name).Order());
        Assert.Equal(1, removed[^1].Count);
        Assert.True(subscriber.IsSubscribed);
        Assert.Empty(Hub.Active(SubscriptionKind.Channel));
        Assert.Equal(1, Hub.Count(SubscriptionKind.Pattern));
    }

    [Fact]
    public void A_closed_connection_leaves_no_channel_or_pattern_behind()
    {
        var leaving = NewSubscriber();
        var staying = NewSubscriber();
        Hub.Subscribe(leaving, SubscriptionKind.Channel, Names("shared", "own"));
        Hub.Subscribe(leaving, SubscriptionKind.Pattern, Names("x*"));
        Hub.Subscribe(staying, SubscriptionKind.Channel, Names("shared"));

        Hub.RemoveAll(leaving);

        Assert.Equal(["shared"], Hub.Active(SubscriptionKind.Channel).Select(Encoding.UTF8.GetString));
        Assert.Equal(1, Hub.SubscriberCount(SubscriptionKind.Channel, Bytes("shared")));
        Assert.Equal(0, Hub.Count(SubscriptionKind.Pattern));
        Assert.False(leaving.IsSubscribed);
        Assert.Equal(1, Hub.Publish(false, Bytes("shared"), Bytes("m")));
    }

    [Fact]
    public void Active_channels_filter_by_glob_pattern()
    {
        var subscriber = NewSubscriber();
        Hub.Subscribe(subscriber, SubscriptionKind.Channel, Names("news.tech", "news.art", "sport"));

        Assert.Equal(["news.art", "news.tech"], Hub.Active(SubscriptionKind.Channel, Bytes("news.*")).Select(Encoding.UTF8.GetString).Order());
        Assert.Equal(["sport"], Hub.Active(SubscriptionKind.Channel, Bytes("[rs]port")).Select(Encoding.UTF8.GetString));
    }

    [Theory]
    [InlineData("Channel", 2, "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nhi!\r\n")]
    [InlineData("Channel", 3, ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nhi!\r\n")]
    [InlineData("Pattern", 2, "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$3\r\nhi!\r\n")]
    [InlineData("Pattern", 3, ">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$3\r\nhi!\r\n")]
    [InlineData("ShardChannel", 3, ">3\r\n$8\r\nsmessage\r\n$2\r\nch\r\n$3\r\nhi!\r\n")]
    public void Messages_are_arrays_in_resp2_and_pushes_in_resp3(string kindName, int protocol, string expected)
    {
        var kind = Enum.Parse<SubscriptionKind>(kindName);
        var message = new PubSubMessage(kind, kind == SubscriptionKind.Pattern ? Bytes("c*") : null, Bytes("ch"), Bytes("hi!"));

        Assert.Equal(expected, Encoding.UTF8.GetString(message.Encoded(protocol)));
        Assert.InRange(message.Size, expected.Length, expected.Length + 48);
    }

    [Fact]
    public void Drain_writes_the_oldest_first_and_stops_once_past_its_byte_budget()
    {
        var subscriber = NewSubscriber();
        for (var i = 0; i < 3; i++)
            subscriber.Deliver(new PubSubMessage(SubscriptionKind.Channel, null, Bytes("c"), Bytes(i.ToString())), _time.NowMs);
        var output = new ArrayBufferWriter<byte>();
        var writer = new RespWriter(output);

        Assert.True(subscriber.Drain(writer, maxBytes: 1));
        Assert.Equal("*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\n0\r\n", Encoding.UTF8.GetString(output.WrittenSpan));
        Assert.False(subscriber.Drain(writer));
        Assert.EndsWith("$1\r\n1\r\n*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\n2\r\n", Encoding.UTF8.GetString(output.WrittenSpan), StringComparison.Ordinal);
        Assert.False(subscriber.HasPending);
        Assert.Equal(0, subscriber.PendingBytes);
    }

    [Fact]
    public async Task A_message_for_an_idle_connection_cancels_its_pending_read()
    {
        var input = new Pipe();
        var session = new ClientSession(_server, new Pipe().Writer, "test", "test", input: input.Reader);
        var read = input.Reader.ReadAsync();
        Hub.Subscribe(session.Subscriptions, SubscriptionKind.Channel, Names("wake"));

        Hub.Publish(false, Bytes("wake"), Bytes("up"));

        var result = await read.AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(result.IsCanceled);
        Assert.True(session.PubSub!.HasPending);
    }

    [Fact]
    public async Task A_subscriber_with_more_than_32_mb_waiting_is_disconnected_and_its_outbox_dropped()
    {
        var session = NewSession();
        var killed = Killed(session);
        var subscriber = session.Subscriptions;
        var payload = new byte[1024 * 1024];
        for (var i = 0; i < 31; i++)
            subscriber.Deliver(new PubSubMessage(SubscriptionKind.Channel, null, Bytes("c"), payload), _time.NowMs);
        Assert.False(killed.IsCompleted);

        subscriber.Deliver(new PubSubMessage(SubscriptionKind.Channel, null, Bytes("c"), payload), _time.NowMs);
        subscriber.Deliver(new PubSubMessage(SubscriptionKind.Channel, null, Bytes("c"), payload), _time.NowMs);

        await killed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(subscriber.HasPending);
        Assert.Equal(0, subscriber.PendingBytes);
    }

    [Fact]
    public async Task A_subscriber_above_8_mb_for_60_seconds_is_disconnected_but_not_sooner()
    {
        var session = NewSession();
        var killed = Killed(session);
        var subscriber = session.Subscriptions;
        var payload = new byte[9 * 1024 * 1024];
        subscriber.Deliver(new PubSubMessage(SubscriptionKind.Channel, null, Bytes("c"), payload), _time.NowMs);
        _time.Advance(59_000);
        subscriber.Deliver(new PubSubMessage(SubscriptionKind.Channel, null, Bytes("c"), Bytes("small")), _time.NowMs);
        Assert.True(subscriber.HasPending);

        _time.Advance(1_000);
        subscriber.Deliver(new PubSubMessage(SubscriptionKind.Channel, null, Bytes("c"), Bytes("small")), _time.NowMs);

        await killed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(subscriber.HasPending);
    }

    [Fact]
    public void Falling_back_under_8_mb_restarts_the_60_second_count()
    {
        var session = NewSession();
        var subscriber = session.Subscriptions;
        var big = new PubSubMessage(SubscriptionKind.Channel, null, Bytes("c"), new byte[9 * 1024 * 1024]);
        subscriber.Deliver(big, _time.NowMs);
        _time.Advance(50_000);
        subscriber.Drain(new RespWriter(new ArrayBufferWriter<byte>()));
        subscriber.Deliver(big, _time.NowMs);
        _time.Advance(50_000);

        subscriber.Deliver(new PubSubMessage(SubscriptionKind.Channel, null, Bytes("c"), Bytes("small")), _time.NowMs);

        Assert.False(session.Killed.IsCancellationRequested);
        Assert.True(subscriber.HasPending);
    }

    private ClientSession NewSession() => new(_server, new Pipe().Writer, "test", "test");

    private Subscriber NewSubscriber() => NewSession().Subscriptions;

    private static Task Killed(ClientSession session)
    {
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        session.Killed.Register(() => killed.TrySetResult());
        return killed.Task;
    }

    private static string Drained(Subscriber subscriber)
    {
        var output = new ArrayBufferWriter<byte>();
        subscriber.Drain(new RespWriter(output));
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[][] Names(params string[] names) => [.. names.Select(Bytes)];

    private static List<(string Name, int Count)> Text(List<(byte[] Name, int Count)> removed) =>
        [.. removed.Select(r => (Encoding.UTF8.GetString(r.Name), r.Count))];
}

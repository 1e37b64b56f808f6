using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Estoraje.Resp;
using Estoraje.Server;
using Estoraje.Server.Cluster;
using Estoraje.Server.Hosting;
using Estoraje.Server.Network;
using Estoraje.Storage.Memory;

namespace Estoraje.Tests.Server;

/// <summary>The pub/sub commands on one connection, run without a socket: subscribed mode, PING, RESET, ordering.</summary>
public sealed class PubSubCommandTests
{
    private const string NotAllowed = "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context";

    private readonly ServerContext _server = new(new ServerOptions(), new MemoryStore(), TimeProvider.System, () => { });

    [Fact]
    public async Task A_resp2_connection_in_subscribed_mode_gets_redis_error_for_other_commands()
    {
        var client = new Client(_server);
        await client.RunAsync("SUBSCRIBE c");

        Assert.Equal($"-ERR Can't execute 'get': {NotAllowed}\r\n", await client.RunAsync("GET k"));
        Assert.Equal($"-ERR Can't execute 'client|id': {NotAllowed}\r\n", await client.RunAsync("CLIENT ID"));
        Assert.Equal("*2\r\n$4\r\npong\r\n$0\r\n\r\n", await client.RunAsync("PING"));
        Assert.Equal("*2\r\n$4\r\npong\r\n$2\r\nhi\r\n", await client.RunAsync("PING hi"));
        Assert.Equal("*3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:0\r\n", await client.RunAsync("UNSUBSCRIBE"));
        Assert.Equal("$-1\r\n", await client.RunAsync("GET k"));
        Assert.Equal("+PONG\r\n", await client.RunAsync("PING"));
    }

    [Fact]
    public async Task A_resp3_connection_keeps_running_commands_while_subscribed()
    {
        var client = new Client(_server);
        await client.RunAsync("HELLO 3");

        Assert.Equal(">3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:1\r\n", await client.RunAsync("PSUBSCRIBE c*"));
        Assert.Equal("_\r\n", await client.RunAsync("GET k"));
        Assert.Equal("+PONG\r\n", await client.RunAsync("PING"));
    }

    [Fact]
    public async Task Reset_leaves_subscribed_mode_and_drops_every_subscription()
    {
        var client = new Client(_server);
        await client.RunAsync("SUBSCRIBE a b");
        await client.RunAsync("PSUBSCRIBE p*");
        await client.RunAsync("SSUBSCRIBE s");

        Assert.Equal("+RESET\r\n", await client.RunAsync("RESET"));
        Assert.Equal("$-1\r\n", await client.RunAsync("GET k"));
        Assert.Equal(":0\r\n", await new Client(_server).RunAsync("PUBSUB NUMPAT"));
        Assert.Equal("*0\r\n", await new Client(_server).RunAsync("PUBSUB CHANNELS"));
    }

    [Fact]
    public async Task A_message_queued_before_an_unsubscribe_is_written_before_its_confirmation()
    {
        var subscriber = new Client(_server);
        await subscriber.RunAsync("SUBSCRIBE c");
        Assert.Equal(":1\r\n", await new Client(_server).RunAsync("PUBLISH c before"));

        var replies = await subscriber.RunAsync("UNSUBSCRIBE c");

        Assert.Equal("*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$6\r\nbefore\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:0\r\n", replies);
        Assert.Equal(":0\r\n", await new Client(_server).RunAsync("PUBLISH c after"));
    }

    [Fact]
    public async Task Publishing_to_ones_own_subscription_delivers_the_message_before_the_reply()
    {
        var client = new Client(_server);
        await client.RunAsync("HELLO 3");
        await client.RunAsync("SUBSCRIBE me");

        Assert.Equal(">3\r\n$7\r\nmessage\r\n$2\r\nme\r\n$1\r\nx\r\n:1\r\n", await client.RunAsync("PUBLISH me x"));
    }

    [Fact]
    public async Task Client_list_and_kill_know_the_pubsub_type_and_list_shows_the_subscription_counts()
    {
        var subscriber = new Client(_server);
        await subscriber.RunAsync("SUBSCRIBE a b");
        await subscriber.RunAsync("PSUBSCRIBE p*");
        _server.Clients[subscriber.Session.Id] = subscriber.Session;
        var other = new Client(_server);
        _server.Clients[other.Session.Id] = other.Session;

        var pubsub = await other.RunAsync("CLIENT LIST TYPE pubsub");
        var normal = await other.RunAsync("CLIENT LIST TYPE normal");

        Assert.Contains($"id={subscriber.Session.Id} ", pubsub, StringComparison.Ordinal);
        Assert.Contains(" flags=P db=0 sub=2 psub=1 ssub=0 ", pubsub, StringComparison.Ordinal);
        Assert.DoesNotContain($"id={other.Session.Id} ", pubsub, StringComparison.Ordinal);
        Assert.Contains($"id={other.Session.Id} ", normal, StringComparison.Ordinal);
        Assert.DoesNotContain($"id={subscriber.Session.Id} ", normal, StringComparison.Ordinal);
        Assert.Equal(":1\r\n", await other.RunAsync("CLIENT KILL TYPE pubsub"));
        Assert.True(subscriber.Session.Killed.IsCancellationRequested);
        Assert.False(other.Session.Killed.IsCancellationRequested);
    }

    [Fact]
    public async Task Peer_only_pubsub_commands_are_refused_to_clients()
    {
        var client = new Client(_server);

        Assert.Equal("-ERR ESTORAJE.PUBLISH is accepted from peers only\r\n", await client.RunAsync("estoraje.publish c m"));
        Assert.Equal("-ERR ESTORAJE.PATTERNS is accepted from peers only\r\n", await client.RunAsync("ESTORAJE.PATTERNS"));
    }

    /// <summary>One connection: runs a command line (split on spaces) and returns what it wrote, messages included.</summary>
    private sealed class Client(ServerContext server)
    {
        private readonly Pipe _pipe = new();
        private ClientSession? _session;

        public ClientSession Session => _session ??= new ClientSession(server, _pipe.Writer, "test", "test");

        public async Task<string> RunAsync(string command)
        {
            var buffer = new ReadOnlySequence<byte>(PeerConnection.Encode(command.Split(' ')));
            Assert.Equal(ParseStatus.Done, Session.Parser.TryParse(ref buffer, out var parsed));
            if (Session.PubSub is { HasPending: true } pending)
                pending.Drain(Session.Writer);
            server.Commands.Execute(Session, parsed);
            await _pipe.Writer.FlushAsync();
            var result = await _pipe.Reader.ReadAsync();
            var text = Encoding.UTF8.GetString(result.Buffer.ToArray());
            _pipe.Reader.AdvanceTo(result.Buffer.End);
            return text;
        }
    }
}

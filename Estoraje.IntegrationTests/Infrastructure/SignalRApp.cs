using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Estoraje.IntegrationTests.Infrastructure;

/// <summary>
/// One instance of a small ASP.NET Core SignalR app inside the test process: Kestrel on a free loopback port, a
/// <see cref="ChatHub"/>, and SignalR's Redis backplane (Microsoft.AspNetCore.SignalR.StackExchangeRedis) on one
/// Estoraje node. Two instances on two nodes are one app scaled out: a client of either reaches the clients of both.
/// </summary>
public sealed class SignalRApp : IAsyncDisposable
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(15);

    private readonly WebApplication _app;

    private SignalRApp(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Starts an instance whose backplane uses the node on <paramref name="redisPort"/>, in <paramref name="protocol"/>.</summary>
    public static async Task<SignalRApp> StartAsync(int redisPort, RedisProtocol protocol, string channelPrefix)
    {
        var port = ServerProcess.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddSignalR().AddStackExchangeRedis(options => options.Configuration = new ConfigurationOptions
        {
            EndPoints = { new IPEndPoint(IPAddress.Loopback, redisPort) },
            Protocol = protocol,
            ChannelPrefix = RedisChannel.Literal(channelPrefix),
            AbortOnConnectFail = true,
            ConnectTimeout = (int)s_deadline.TotalMilliseconds,
            AsyncTimeout = (int)s_deadline.TotalMilliseconds,
            SyncTimeout = (int)s_deadline.TotalMilliseconds,
        });
        var app = builder.Build();
        app.MapHub<ChatHub>("/chat");
        await app.StartAsync();
        return new SignalRApp(app, port);
    }

    /// <summary>A SignalR client connected to this instance; every "message" it receives goes to <paramref name="inbox"/>.</summary>
    public async Task<HubConnection> ConnectAsync(ChannelWriter<string> inbox)
    {
        var connection = new HubConnectionBuilder().WithUrl($"http://127.0.0.1:{Port}/chat").Build();
        connection.On<string>("message", text => inbox.TryWrite(text));
        await connection.StartAsync().WaitAsync(s_deadline);
        return connection;
    }

    /// <summary>
    /// A client of an instance on <paramref name="receiverNode"/> receives what a client of an instance on
    /// <paramref name="senderNode"/> sends to every client and to a group it joined: the backplane's messages
    /// went through Estoraje's pub/sub from one node to the other.
    /// </summary>
    public static async Task AssertBackplaneDeliversAsync(int receiverNode, int senderNode, RedisProtocol protocol)
    {
        var prefix = $"signalr-{protocol}-{Guid.NewGuid():N}";
        await using var app1 = await StartAsync(receiverNode, protocol, prefix);
        await using var app2 = await StartAsync(senderNode, protocol, prefix);
        var received = Channel.CreateUnbounded<string>();
        await using var receiver = await app1.ConnectAsync(received.Writer);
        await using var sender = await app2.ConnectAsync(Channel.CreateUnbounded<string>().Writer);

        await sender.InvokeAsync(nameof(ChatHub.SendToAll), "to everyone").WaitAsync(s_deadline);
        Assert.Equal("to everyone", await received.Reader.ReadAsync().AsTask().WaitAsync(s_deadline));

        await receiver.InvokeAsync(nameof(ChatHub.Join), "room").WaitAsync(s_deadline);
        await sender.InvokeAsync(nameof(ChatHub.SendToGroup), "room", "to the room").WaitAsync(s_deadline);
        Assert.Equal("to the room", await received.Reader.ReadAsync().AsTask().WaitAsync(s_deadline));

        // And back: the other way round, from the first instance's client to the second's group.
        var back = Channel.CreateUnbounded<string>();
        await using var listener = await app2.ConnectAsync(back.Writer);
        await listener.InvokeAsync(nameof(ChatHub.Join), "lobby").WaitAsync(s_deadline);
        await receiver.InvokeAsync(nameof(ChatHub.SendToGroup), "lobby", "to the lobby").WaitAsync(s_deadline);
        Assert.Equal("to the lobby", await back.Reader.ReadAsync().AsTask().WaitAsync(s_deadline));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>The test app's hub: broadcasts and groups, which the Redis backplane carries between instances.</summary>
public sealed class ChatHub : Hub
{
    public Task SendToAll(string text) => Clients.All.SendAsync("message", text);

    public Task Join(string group) => Groups.AddToGroupAsync(Context.ConnectionId, group);

    public Task SendToGroup(string group, string text) => Clients.Group(group).SendAsync("message", text);
}

using System.Net;
using System.Net.Sockets;
using System.Text;
using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests.Network;

/// <summary>
/// The epoll event loops that serve client connections (<c>Network/EventLoop.cs</c>): flow control both ways,
/// several loops sharing one store, connections coming and going in waves, and the .NET socket engine still
/// serving with <c>--event-loops 0</c>.
/// </summary>
public sealed class EventLoopTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("estoraje-loops-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_pipeline_whose_replies_outgrow_every_buffer_is_answered_whole_and_in_order(bool writes)
    {
        // The receive side pauses past query-buffer-limit + 1 MB, the send side past 1 MB: 2.5 MB of requests whose
        // replies are 100 MB, read slowly at first, fill both, so the loop stops reading the socket, waits for it to
        // take more replies, and resumes. With a write before each read, every batch also waits for its pass's
        // commit before its replies meet the full socket.
        await using var server = await EstorajeServerProcess.StartAsync("--storage", "memory", "--client-query-buffer-limit", "1048576");
        var value = new string('v', 1000) + "end";
        await using (var setup = await RespConnection.ConnectAsync(server.Port))
            Assert.Equal("+OK\r\n", await setup.CommandAsync("SET", "loop:big", value));

        const int Requests = 100_000;
        var request = (writes ? RespConnection.Encode("SET", "loop:written", "x") : []).Concat(RespConnection.Encode("GET", "loop:big")).ToArray();
        var batch = new byte[request.Length * Requests];
        for (var i = 0; i < Requests; i++)
            request.CopyTo(batch, i * request.Length);
        var expected = Encoding.ASCII.GetBytes($"{(writes ? "+OK\r\n" : "")}${value.Length}\r\n{value}\r\n");

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port), timeout.Token);
        var send = socket.SendAsync(batch, SocketFlags.None, timeout.Token).AsTask();

        var buffer = new byte[64 * 1024];
        long received = 0;
        var total = (long)expected.Length * Requests;
        while (received < total)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            Assert.True(n > 0, $"the server closed the connection after {received} of {total} bytes");
            for (var i = 0; i < n; i++)
            {
                if (buffer[i] != expected[(received + i) % expected.Length])
                    Assert.Fail($"byte {received + i} of the replies differs (reply {(received + i) / expected.Length})");
            }

            received += n;
            // A slow client for the first 20 MB (a millisecond per read): the server's socket buffer fills.
            if (received < 20_000_000)
                await Task.Delay(1, timeout.Token);
        }

        await send;
        await using var after = await RespConnection.ConnectAsync(server.Port);
        Assert.Equal("+PONG\r\n", await after.CommandAsync("PING"));
    }

    [Fact]
    public async Task A_query_buffer_limit_raised_by_CONFIG_SET_lets_a_larger_request_in()
    {
        // Started at 1 MB, a loop would read no more than 2 MB of a request: the 4 MB one below could never arrive.
        // (The command line takes Redis's units, as CONFIG SET does.)
        await using var server = await EstorajeServerProcess.StartAsync("--storage", "memory", "--client-query-buffer-limit", "1mb",
            "--proto-max-bulk-len", "1mb");
        await using var client = await RespConnection.ConnectAsync(server.Port);
        Assert.Equal("*2\r\n$25\r\nclient-query-buffer-limit\r\n$7\r\n1048576\r\n",
            await client.CommandAsync("CONFIG", "GET", "client-query-buffer-limit"));
        Assert.Equal("+OK\r\n", await client.CommandAsync("CONFIG", "SET", "client-query-buffer-limit", "8mb"));
        Assert.Equal("+OK\r\n", await client.CommandAsync("CONFIG", "SET", "proto-max-bulk-len", "8mb"));

        var value = new string('x', 4 << 20);
        Assert.Equal("+OK\r\n", await client.CommandAsync("SET", "big", value).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal($":{value.Length}\r\n", await client.CommandAsync("STRLEN", "big"));
    }

    [Fact]
    public async Task Clients_spread_over_several_loops_share_one_store()
    {
        await using var server = await EstorajeServerProcess.StartAsync("--storage", "log", "--dir", _dir, "--event-loops", "3");
        const int Clients = 12;
        const int Increments = 300;
        var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            await using var connection = await RespConnection.ConnectAsync(server.Port);
            for (var i = 0; i < Increments; i++)
            {
                Assert.StartsWith(":", await connection.CommandAsync("INCR", "loops:counter"), StringComparison.Ordinal);
                Assert.Equal("+OK\r\n", await connection.CommandAsync("SET", $"loops:{c}", $"{i}"));
            }
        })).ToArray();
        await Task.WhenAll(clients);

        await using var reader = await RespConnection.ConnectAsync(server.Port);
        Assert.Equal($"${(Clients * Increments).ToString().Length}\r\n{Clients * Increments}\r\n", await reader.CommandAsync("GET", "loops:counter"));
        for (var c = 0; c < Clients; c++)
            Assert.Equal($"$3\r\n{Increments - 1}\r\n", await reader.CommandAsync("GET", $"loops:{c}"));
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("log")]
    public async Task Loops_share_connections_by_load_one_serves_them_all_when_light(string storage)
    {
        // Connected while the server is idle, every client is on loop 0; pipelining clients keep loop 0's passes full of
        // ready sockets, so it hands some to loop 1; light traffic afterwards brings them back. Replies stay exact and in
        // order through every move: each client counts its own key up in pipelines of INCR (on the log store, a
        // connection whose batch waits for the pass's commit stays where it is).
        string[] store = storage == "memory" ? ["--storage", "memory"] : ["--storage", "log", "--dir", _dir];
        await using var server = await EstorajeServerProcess.StartAsync([.. store, "--event-loops", "2"]);
        const int Clients = 24;
        const int Depth = 64;
        var clients = await Task.WhenAll(Enumerable.Range(0, Clients).Select(_ => RespConnection.ConnectAsync(server.Port)));
        try
        {
            await using var observer = await RespConnection.ConnectAsync(server.Port);
            Assert.Equal(new[] { Clients + 1, 0 }, await LoopCountsAsync(observer));

            var counts = new long[Clients];
            using var stop = new CancellationTokenSource();
            var load = clients.Select((c, i) => Task.Run(async () =>
            {
                var pipeline = Enumerable.Repeat(RespConnection.Encode("INCR", $"balance:{i}"), Depth).SelectMany(b => b).ToArray();
                while (!stop.IsCancellationRequested)
                {
                    await c.SendAsync(pipeline);
                    for (var d = 0; d < Depth; d++)
                        Assert.Equal($":{++counts[i]}\r\n", await c.ReadReplyAsync());
                }
            })).ToArray();

            await WaitForAsync(observer, loops => loops[1] > 0, "no connection moved to loop 1 under pipelined load", load);
            await stop.CancelAsync();
            await Task.WhenAll(load);

            // One request at a time per client now: loop 1's passes are light, so are loop 0's; after a second the
            // connections are loop 0's again.
            await WaitForAsync(observer, loops => loops[1] == 0, "the connections did not return to loop 0 under light load",
                async () =>
                {
                    for (var i = 0; i < Clients; i++)
                        Assert.Equal($":{++counts[i]}\r\n", await clients[i].CommandAsync("INCR", $"balance:{i}"));
                });
            for (var i = 0; i < Clients; i++)
                Assert.Equal($"${counts[i].ToString().Length}\r\n{counts[i]}\r\n", await clients[i].CommandAsync("GET", $"balance:{i}"));
        }
        finally
        {
            foreach (var c in clients)
                await c.DisposeAsync();
        }
    }

    // How many connections each loop serves (CLIENT LIST's io-thread), this one included.
    private static async Task<int[]> LoopCountsAsync(RespConnection observer)
    {
        var reply = await observer.CommandAsync("CLIENT", "LIST");
        var counts = new int[2];
        foreach (var field in reply.Split(' ', '\n').Where(f => f.StartsWith("io-thread=", StringComparison.Ordinal)))
            counts[int.Parse(field["io-thread=".Length..].TrimEnd('\r'), System.Globalization.CultureInfo.InvariantCulture)]++;
        return counts;
    }

    // Polls CLIENT LIST until the loops' counts satisfy `done`, for up to 30 s, while `load` runs (and fails the test if it
    // does) or, when `step` is given, running one step of light traffic between polls.
    private static async Task WaitForAsync(RespConnection observer, Func<int[], bool> done, string failure, Task[]? load = null,
        Func<Task>? step = null)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (!done(await LoopCountsAsync(observer)))
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), failure);
            if (load?.FirstOrDefault(t => t.IsFaulted) is { } faulted)
                await faulted;
            if (step is not null)
                await step();
            else
                await Task.Delay(10);
        }
    }

    private static Task WaitForAsync(RespConnection observer, Func<int[], bool> done, string failure, Func<Task> step) =>
        WaitForAsync(observer, done, failure, null, step);

    [Fact]
    public async Task Connections_opened_and_dropped_in_waves_leave_the_loops_serving_the_rest()
    {
        // Slots of closed connections are reused: a stale event for an old connection must never reach a new one.
        await using var server = await EstorajeServerProcess.StartAsync("--storage", "memory", "--event-loops", "2");
        var live = new List<RespConnection>();
        try
        {
            for (var wave = 0; wave < 5; wave++)
            {
                var opened = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => RespConnection.ConnectAsync(server.Port)));
                await Task.WhenAll(opened.Select(async (c, i) =>
                    Assert.Equal($"$6\r\nw{wave}c{i:D3}\r\n", await c.CommandAsync("ECHO", $"w{wave}c{i:D3}"))));
                // Half go away at once, reset with a request half sent or cleanly; the other half stay.
                for (var i = 0; i < opened.Length; i++)
                {
                    if (i % 4 == 0)
                    {
                        await opened[i].SendAsync("*2\r\n$4\r\nECHO\r\n$10\r\nhalf");
                        opened[i].Abort();
                    }
                    else if (i % 4 == 1)
                    {
                        await opened[i].DisposeAsync();
                    }
                    else
                    {
                        live.Add(opened[i]);
                    }
                }
            }

            await Task.WhenAll(live.Select(async (c, i) =>
                Assert.Equal($"${i.ToString().Length}\r\n{i}\r\n", await c.CommandAsync("ECHO", $"{i}"))));
            var deadline = System.Diagnostics.Stopwatch.StartNew();
            while (!(await live[0].CommandAsync("INFO", "clients")).Contains($"connected_clients:{live.Count}\r\n", StringComparison.Ordinal))
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), "the dropped connections are still counted");
                await Task.Delay(20);
            }
        }
        finally
        {
            foreach (var c in live)
                await c.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_dotnet_socket_engine_serves_clients_with_event_loops_0()
    {
        await using var server = await EstorajeServerProcess.StartAsync("--storage", "memory", "--event-loops", "0");
        await using var connection = await RespConnection.ConnectAsync(server.Port);
        var batch = new MemoryStream();
        for (var i = 0; i < 1000; i++)
            batch.Write(RespConnection.Encode("SET", $"engine:{i}", $"v{i}"));
        await connection.SendAsync(batch.ToArray());
        for (var i = 0; i < 1000; i++)
            Assert.Equal("+OK\r\n", await connection.ReadReplyAsync());
        Assert.Equal("$4\r\nv999\r\n", await connection.CommandAsync("GET", "engine:999"));
        Assert.Equal("+OK\r\n", await connection.CommandAsync("QUIT"));
        Assert.Equal("", await connection.ReadUntilClosedAsync());
    }
}

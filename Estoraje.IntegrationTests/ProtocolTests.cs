using System.Net.Sockets;
using System.Text;
using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests;

/// <summary>
/// The wire protocol byte for byte, over raw sockets: framing, inline commands, RESP3, pipelining, protocol
/// errors and the connection commands that close connections or the server. Tests needing special flags
/// start a dedicated server.
/// </summary>
public sealed class ProtocolTests(EstorajeFixture server) : IClassFixture<EstorajeFixture>
{
    private static readonly TimeSpan s_exitTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Ping_replies_with_the_pong_simple_string()
    {
        await using var connection = await RespConnection.ConnectAsync(server.Port);

        await connection.SendAsync("*1\r\n$4\r\nPING\r\n");

        Assert.Equal("+PONG\r\n", await connection.ReadExactlyAsync(7));
    }

    [Fact]
    public async Task Inline_commands_split_on_spaces_and_honour_quotes_and_escapes()
    {
        await using var connection = await RespConnection.ConnectAsync(server.Port);

        await connection.SendAsync("PING\r\n  ping   hello  \nSET inline:key \"a b\\x41\\n\"\r\nGET inline:key\r\nECHO 'it\\'s'\r\n\r\n");

        Assert.Equal("+PONG\r\n", await connection.ReadReplyAsync());
        Assert.Equal("$5\r\nhello\r\n", await connection.ReadReplyAsync());
        Assert.Equal("+OK\r\n", await connection.ReadReplyAsync());
        Assert.Equal("$5\r\na bA\n\r\n", await connection.ReadReplyAsync());
        Assert.Equal("$4\r\nit's\r\n", await connection.ReadReplyAsync());
        Assert.Equal("+PONG\r\n", await connection.CommandAsync("PING"));
    }

    [Fact]
    public async Task Hello_3_switches_the_connection_to_resp3_replies()
    {
        await using var connection = await RespConnection.ConnectAsync(server.Port);

        var hello = await connection.CommandAsync("HELLO", "3");

        Assert.StartsWith("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n", hello, StringComparison.Ordinal);
        Assert.Contains("$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:", hello, StringComparison.Ordinal);
        Assert.EndsWith("$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n", hello, StringComparison.Ordinal);
        Assert.Equal("_\r\n", await connection.CommandAsync("GET", "resp3:missing"));
        Assert.Equal("%1\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n", await connection.CommandAsync("CONFIG", "GET", "maxclients"));
        Assert.StartsWith("=", await connection.CommandAsync("INFO", "server"), StringComparison.Ordinal);
        Assert.Equal("*1\r\n_\r\n", await connection.CommandAsync("COMMAND", "INFO", "nosuchcommand"));
    }

    [Fact]
    public async Task Hello_2_after_hello_3_goes_back_to_resp2_replies()
    {
        await using var connection = await RespConnection.ConnectAsync(server.Port);
        await connection.CommandAsync("HELLO", "3");

        var hello = await connection.CommandAsync("HELLO", "2");

        Assert.StartsWith("*14\r\n$6\r\nserver\r\n", hello, StringComparison.Ordinal);
        Assert.Equal("$-1\r\n", await connection.CommandAsync("GET", "resp3:missing"));
        Assert.Equal("*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n", await connection.CommandAsync("CONFIG", "GET", "maxclients"));
    }

    [Fact]
    public async Task Ten_thousand_commands_sent_in_one_write_are_answered_in_order()
    {
        await using var connection = await RespConnection.ConnectAsync(server.Port);
        var batch = new MemoryStream();
        for (var i = 0; i < 10_000; i++)
        {
            batch.Write(i % 2 == 0
                ? RespConnection.Encode("SET", $"pipeline:{i}", $"v{i}")
                : RespConnection.Encode("ECHO", $"e{i}"));
        }

        await connection.SendAsync(batch.ToArray());

        for (var i = 0; i < 10_000; i++)
        {
            var expected = i % 2 == 0 ? "+OK\r\n" : $"${$"e{i}".Length}\r\ne{i}\r\n";
            var reply = await connection.ReadReplyAsync();
            if (reply != expected)
                Assert.Fail($"Reply {i}: expected {RespConnection.Escape(expected)}, got {RespConnection.Escape(reply)}");
        }

        Assert.Equal("$5\r\nv9998\r\n", await connection.CommandAsync("GET", "pipeline:9998"));
    }

    [Theory]
    [InlineData("*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n")]
    [InlineData("*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n")]
    [InlineData("*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n")]
    [InlineData("*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n")]
    [InlineData("*1\r\n+foo\r\n", "-ERR Protocol error: expected '$', got '+'\r\n")]
    [InlineData("*2\r\n$4\r\nECHO\r\n:5\r\n", "-ERR Protocol error: expected '$', got ':'\r\n")]
    [InlineData("SET key \"unbalanced\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n")]
    [InlineData("ECHO 'open\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n")]
    [InlineData("ECHO \"closed\"tail\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n")]
    [InlineData("PING\r\n*abc\r\nPING\r\n", "+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n")]
    public async Task Malformed_request_gets_the_redis_protocol_error_then_the_connection_closes(string request, string expected)
    {
        await using var bystander = await RespConnection.ConnectAsync(server.Port);
        Assert.Equal("+PONG\r\n", await bystander.CommandAsync("PING"));
        await using var connection = await RespConnection.ConnectAsync(server.Port);

        await connection.SendAsync(request);

        Assert.Equal(expected, await connection.ReadUntilClosedAsync());
        Assert.Equal("+PONG\r\n", await bystander.CommandAsync("PING"));
    }

    [Fact]
    public async Task Bulk_length_above_512_mb_is_refused_without_waiting_for_the_payload()
    {
        await using var connection = await RespConnection.ConnectAsync(server.Port);

        await connection.SendAsync("*2\r\n$4\r\nECHO\r\n$536870913\r\n");

        Assert.Equal("-ERR Protocol error: invalid bulk length\r\n", await connection.ReadUntilClosedAsync());
    }

    [Fact]
    public async Task Proto_max_bulk_len_flag_refuses_larger_bulks_and_accepts_smaller_ones()
    {
        await using var limited = await EstorajeServerProcess.StartAsync("--proto-max-bulk-len", "1024");
        await using var connection = await RespConnection.ConnectAsync(limited.Port);

        var small = new string('s', 1000);
        var exact = new string('x', 1024);
        Assert.Equal($"$1000\r\n{small}\r\n", await connection.CommandAsync("ECHO", small));
        Assert.Equal("+OK\r\n", await connection.CommandAsync("SET", "limit:exact", exact));
        await connection.SendAsync(RespConnection.Encode("ECHO", new string('b', 2000)));

        Assert.Equal("-ERR Protocol error: invalid bulk length\r\n", await connection.ReadUntilClosedAsync());
        await using var other = await RespConnection.ConnectAsync(limited.Port);
        Assert.Equal("*2\r\n$18\r\nproto-max-bulk-len\r\n$4\r\n1024\r\n", await other.CommandAsync("CONFIG", "GET", "proto-max-bulk-len"));
        Assert.Equal(":1024\r\n", await other.CommandAsync("STRLEN", "limit:exact"));
    }

    [Fact]
    public async Task Client_query_buffer_limit_flag_closes_a_client_whose_request_outgrows_it()
    {
        await using var limited = await EstorajeServerProcess.StartAsync("--client-query-buffer-limit", "1048576");
        await using var connection = await RespConnection.ConnectAsync(limited.Port);
        var fits = new string('f', 500_000);
        Assert.Equal("+OK\r\n", await connection.CommandAsync("SET", "qbuf:fits", fits));

        // Redis closes such a client without a reply; so must Estoraje, before the 2 MB are even all sent.
        try
        {
            await connection.SendAsync("*3\r\n$3\r\nSET\r\n$8\r\nqbuf:big\r\n$2000000\r\n" + new string('b', 1_100_000));
        }
        catch (SocketException)
        {
            // The server may close before the last bytes are sent: that is the behaviour under test.
        }

        Assert.Equal("", await connection.ReadUntilClosedAsync());
        await using var other = await RespConnection.ConnectAsync(limited.Port);
        Assert.Equal("*2\r\n$1\r\n0\r\n*1\r\n$9\r\nqbuf:fits\r\n", await other.CommandAsync("SCAN", "0"));
    }

    [Fact]
    public async Task Maxclients_flag_refuses_connections_beyond_the_limit_with_the_redis_error()
    {
        await using var limited = await EstorajeServerProcess.StartAsync("--maxclients", "2");
        await using var first = await RespConnection.ConnectAsync(limited.Port);
        await WaitUntilOnlyClientAsync(first, "the start-up probe's connection is gone");
        await using var second = await RespConnection.ConnectAsync(limited.Port);
        Assert.Equal("+PONG\r\n", await second.CommandAsync("PING"));

        await using var third = await RespConnection.ConnectAsync(limited.Port);

        Assert.Equal("-ERR max number of clients reached\r\n", await third.ReadUntilClosedAsync());
        Assert.Equal("+PONG\r\n", await first.CommandAsync("PING"));
    }

    [Fact]
    public async Task Info_counts_every_byte_read_and_written_also_by_closed_connections()
    {
        await using var own = await EstorajeServerProcess.StartAsync("--storage", "memory");
        await using var connection = await RespConnection.ConnectAsync(own.Port);
        await WaitUntilOnlyClientAsync(connection, "the start-up probe's connection is gone");
        var info = RespConnection.Encode("INFO", "stats");
        var echo = RespConnection.Encode("ECHO", new string('e', 1000));

        var (input, output) = NetBytes(await connection.CommandAsync("INFO", "stats"));
        var echoed = await connection.CommandAsync("ECHO", new string('e', 1000));
        var infoReply = await connection.CommandAsync("INFO", "stats");
        var (input2, output2) = NetBytes(infoReply);

        // The second INFO counts the first INFO's request and the ECHO (its own request is counted after it runs).
        Assert.Equal(input + info.Length + echo.Length, input2);
        Assert.True(output2 >= output + echoed.Length, $"output {output} then {output2}");

        await using (var gone = await RespConnection.ConnectAsync(own.Port))
            Assert.Equal(echoed, await gone.CommandAsync("ECHO", new string('e', 1000)));
        await WaitUntilOnlyClientAsync(connection, "the closed connection is gone");
        var (input3, _) = NetBytes(await connection.CommandAsync("INFO", "stats"));
        Assert.True(input3 >= input2 + info.Length + echo.Length, $"input {input2} then {input3}");
    }

    // Waits until the server counts only this connection (one closed just before, such as the probe that checked the
    // port at start-up, counts until the server has seen it close).
    private static Task WaitUntilOnlyClientAsync(RespConnection connection, string what) =>
        WaitUntilAsync(async () => (await connection.CommandAsync("INFO", "clients")).Contains("connected_clients:1\r\n", StringComparison.Ordinal), what);

    private static (long Input, long Output) NetBytes(string info)
    {
        long Field(string name)
        {
            var start = info.IndexOf(name + ":", StringComparison.Ordinal) + name.Length + 1;
            return long.Parse(info[start..info.IndexOf('\r', start)], System.Globalization.CultureInfo.InvariantCulture);
        }

        return (Field("total_net_input_bytes"), Field("total_net_output_bytes"));
    }

    [Fact]
    public async Task Client_gone_in_the_middle_of_a_bulk_leaves_the_server_serving_others()
    {
        await using var observer = await RespConnection.ConnectAsync(server.Port);
        var quitter = await RespConnection.ConnectAsync(server.Port);
        var id = (await quitter.CommandAsync("CLIENT", "ID"))[1..^2];

        await quitter.SendAsync("*3\r\n$3\r\nSET\r\n$8\r\nhalf:key\r\n$100\r\nonly part of the");
        quitter.Abort();
        await quitter.DisposeAsync();

        await WaitUntilAsync(async () => !(await observer.CommandAsync("CLIENT", "LIST")).Contains($"id={id} ", StringComparison.Ordinal),
            "the server drops the connection that went away");
        Assert.Equal("$-1\r\n", await observer.CommandAsync("GET", "half:key"));
        Assert.Equal("+PONG\r\n", await observer.CommandAsync("PING"));
        await using var newcomer = await RespConnection.ConnectAsync(server.Port);
        Assert.Equal("+OK\r\n", await newcomer.CommandAsync("SET", "half:key", "whole"));
        Assert.Equal("$5\r\nwhole\r\n", await observer.CommandAsync("GET", "half:key"));
    }

    [Fact]
    public async Task Unknown_command_error_quotes_the_name_and_the_first_arguments_as_redis()
    {
        await using var connection = await RespConnection.ConnectAsync(server.Port);

        Assert.Equal("-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n", await connection.CommandAsync("foo", "a", "b"));
        Assert.Equal("-ERR unknown command 'XADD', with args beginning with: 's' '*' \r\n", await connection.CommandAsync("XADD", "s", "*"));
        Assert.Equal("+PONG\r\n", await connection.CommandAsync("PING"));
    }

    [Fact]
    public async Task Debug_sleep_beyond_what_the_server_can_sleep_is_refused_and_the_connection_stays()
    {
        await using var connection = await RespConnection.ConnectAsync(server.Port);

        Assert.Equal("-ERR value is not a valid float\r\n", await connection.CommandAsync("DEBUG", "SLEEP", "1e308"));
        Assert.Equal("-ERR value is not a valid float\r\n", await connection.CommandAsync("DEBUG", "SLEEP", "inf"));
        Assert.Equal("+OK\r\n", await connection.CommandAsync("DEBUG", "SLEEP", "0"));
    }

    [Fact]
    public async Task Wrong_argument_count_names_the_command_and_keeps_the_connection()
    {
        await using var connection = await RespConnection.ConnectAsync(server.Port);

        Assert.Equal("-ERR wrong number of arguments for 'get' command\r\n", await connection.CommandAsync("GET"));
        Assert.Equal("-ERR wrong number of arguments for 'set' command\r\n", await connection.CommandAsync("SET", "k"));
        Assert.Equal("-ERR wrong number of arguments for 'client|setname' command\r\n", await connection.CommandAsync("CLIENT", "SETNAME", "a", "b"));
        Assert.Equal("+PONG\r\n", await connection.CommandAsync("PING"));
    }

    [Fact]
    public async Task Requirepass_refuses_commands_until_auth_gives_the_password()
    {
        await using var secured = await EstorajeServerProcess.StartAsync("--requirepass", "s3cret");
        await using var connection = await RespConnection.ConnectAsync(secured.Port);

        Assert.Equal("-NOAUTH Authentication required.\r\n", await connection.CommandAsync("GET", "auth:key"));
        Assert.Equal("-NOAUTH Authentication required.\r\n", await connection.CommandAsync("PING"));
        Assert.StartsWith("-NOAUTH HELLO must be called with the client already authenticated", await connection.CommandAsync("HELLO", "3"), StringComparison.Ordinal);
        Assert.Equal("-WRONGPASS invalid username-password pair or user is disabled.\r\n", await connection.CommandAsync("AUTH", "wrong"));
        Assert.Equal("+OK\r\n", await connection.CommandAsync("AUTH", "s3cret"));
        Assert.Equal("$-1\r\n", await connection.CommandAsync("GET", "auth:key"));
        Assert.Equal("+RESET\r\n", await connection.CommandAsync("RESET"));
        Assert.Equal("-NOAUTH Authentication required.\r\n", await connection.CommandAsync("GET", "auth:key"));
        Assert.StartsWith("%7\r\n", await connection.CommandAsync("HELLO", "3", "AUTH", "default", "s3cret"), StringComparison.Ordinal);
        Assert.Equal("_\r\n", await connection.CommandAsync("GET", "auth:key"));
    }

    [Fact]
    public async Task Requirepass_closes_an_unauthenticated_client_sending_a_large_request()
    {
        await using var secured = await EstorajeServerProcess.StartAsync("--requirepass", "s3cret");
        await using var connection = await RespConnection.ConnectAsync(secured.Port);

        await connection.SendAsync("*11\r\n");

        Assert.Equal("-ERR Protocol error: unauthenticated multibulk length\r\n", await connection.ReadUntilClosedAsync());
    }

    [Fact]
    public async Task Client_kill_by_id_closes_that_other_connection()
    {
        await using var killer = await RespConnection.ConnectAsync(server.Port);
        await using var victim = await RespConnection.ConnectAsync(server.Port);
        var id = (await victim.CommandAsync("CLIENT", "ID"))[1..^2];

        Assert.Equal(":1\r\n", await killer.CommandAsync("CLIENT", "KILL", "ID", id));

        Assert.Equal("", await victim.ReadUntilClosedAsync());
        Assert.Equal("+PONG\r\n", await killer.CommandAsync("PING"));
    }

    [Fact]
    public async Task Client_kill_by_address_replies_ok_and_closes_that_connection()
    {
        await using var killer = await RespConnection.ConnectAsync(server.Port);
        await using var victim = await RespConnection.ConnectAsync(server.Port);
        var info = await victim.CommandAsync("CLIENT", "INFO");
        var address = info.Split(' ').Single(field => field.StartsWith("addr=", StringComparison.Ordinal))["addr=".Length..];

        Assert.Equal("+OK\r\n", await killer.CommandAsync("CLIENT", "KILL", address));

        Assert.Equal("", await victim.ReadUntilClosedAsync());
        Assert.Equal("-ERR No such client\r\n", await killer.CommandAsync("CLIENT", "KILL", address));
    }

    [Fact]
    public async Task Quit_replies_ok_then_closes_the_connection()
    {
        await using var connection = await RespConnection.ConnectAsync(server.Port);

        await connection.SendAsync(Encoding.ASCII.GetString(RespConnection.Encode("QUIT")) + "PING\r\n");

        Assert.Equal("+OK\r\n", await connection.ReadUntilClosedAsync());
    }

    [Fact]
    public async Task Shutdown_closes_the_connection_and_the_server_exits_with_code_0()
    {
        await using var doomed = await EstorajeServerProcess.StartAsync();
        await using var connection = await RespConnection.ConnectAsync(doomed.Port);
        Assert.Equal("+OK\r\n", await connection.CommandAsync("SET", "shutdown:key", "v"));

        await connection.SendAsync(RespConnection.Encode("SHUTDOWN"));

        Assert.Equal("", await connection.ReadUntilClosedAsync());
        Assert.Equal(0, await doomed.WaitForExitAsync(s_exitTimeout));
    }

    [Fact]
    public async Task Wait_on_a_single_node_counts_no_replica_and_honours_its_timeout()
    {
        await using var connection = await RespConnection.ConnectAsync(server.Port);
        Assert.Equal("+OK\r\n", await connection.CommandAsync("SET", "wait:single", "v"));
        Assert.Equal(":0\r\n", await connection.CommandAsync("WAIT", "0", "0"));
        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(":0\r\n", await connection.CommandAsync("WAIT", "1", "200"));
        Assert.True(started.ElapsedMilliseconds >= 190, $"WAIT returned after {started.ElapsedMilliseconds} ms");
        Assert.Equal("-ERR value is not an integer or out of range\r\n", await connection.CommandAsync("WAIT", "x", "0"));
        Assert.Equal("+PONG\r\n", await connection.CommandAsync("PING"));
    }

    [Fact]
    public async Task Sigterm_closes_client_connections_and_the_server_exits_with_code_0()
    {
        await using var doomed = await EstorajeServerProcess.StartAsync();
        await using var connection = await RespConnection.ConnectAsync(doomed.Port);
        Assert.Equal("+PONG\r\n", await connection.CommandAsync("PING"));

        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", doomed.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();

        Assert.Equal("", await connection.ReadUntilClosedAsync());
        Assert.Equal(0, await doomed.WaitForExitAsync(s_exitTimeout));
        Assert.Contains("Shutting down", doomed.Output, StringComparison.Ordinal);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + RespConnection.DefaultTimeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Timed out waiting until {what}.");
            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }
}

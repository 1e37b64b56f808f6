using System.Text;
using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests;

/// <summary>The real redis-cli 7 against Estoraje: one-shot commands, piped commands and --pipe mass insertion.</summary>
public sealed class RedisCliTests(EstorajeFixture server) : IClassFixture<EstorajeFixture>
{
    [Fact]
    public async Task One_shot_set_prints_ok_and_get_prints_the_value()
    {
        var set = await RedisCli.RunAsync(server.Port, "set", "cli:oneshot", "hello world");
        Assert.Equal((0, "OK\n", ""), (set.ExitCode, set.Output, set.Error));

        var get = await RedisCli.RunAsync(server.Port, "get", "cli:oneshot");
        Assert.Equal((0, "hello world\n", ""), (get.ExitCode, get.Output, get.Error));
    }

    [Fact]
    public async Task One_shot_get_of_a_missing_key_prints_an_empty_line()
    {
        var get = await RedisCli.RunAsync(server.Port, "get", "cli:missing");

        Assert.Equal((0, "\n"), (get.ExitCode, get.Output));
    }

    [Fact]
    public async Task One_shot_integer_and_error_replies_print_as_redis_cli_prints_them()
    {
        var incr = await RedisCli.RunAsync(server.Port, "incrby", "cli:counter", "41");
        var error = await RedisCli.RunAsync(server.Port, "nosuchcommand", "a");

        Assert.Equal("41\n", incr.Output);
        // redis-cli 7 exits 0 after an error reply when its output is not a terminal, as with Redis itself.
        Assert.Equal((0, "ERR unknown command 'nosuchcommand', with args beginning with: 'a' \n\n"), (error.ExitCode, error.Output));
    }

    [Fact]
    public async Task One_shot_command_against_a_closed_port_fails_with_exit_code_1()
    {
        var result = await RedisCli.RunAsync(ServerProcess.FreePort(), "ping");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Connection refused", result.Output + result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Piped_commands_run_in_order_and_print_one_reply_each()
    {
        var input = "SET cli:piped 1\nINCR cli:piped\nINCRBY cli:piped 10\nGET cli:piped\nEXISTS cli:piped cli:nope\nDEL cli:piped\nGET cli:piped\n"u8.ToArray();

        var result = await RedisCli.RunAsync(server.Port, input);

        Assert.Equal((0, "OK\n2\n12\n12\n1\n1\n\n"), (result.ExitCode, result.Output));
    }

    [Fact]
    public async Task Piped_command_with_quoted_arguments_keeps_spaces_and_escapes()
    {
        var input = "SET cli:quoted \"two words\\tand a tab\"\nSTRLEN cli:quoted\nGET cli:quoted\n"u8.ToArray();

        var result = await RedisCli.RunAsync(server.Port, input);

        Assert.Equal("OK\n19\ntwo words\tand a tab\n", result.Output);
    }

    [Fact]
    public async Task Pipe_mode_inserts_10000_commands_with_no_errors()
    {
        var input = new StringBuilder();
        for (var i = 0; i < 10_000; i++)
            input.Append(Encoding.ASCII.GetString(RespConnection.Encode("SET", $"cli:mass:{i}", $"value-{i}")));

        var result = await RedisCli.RunAsync(server.Port, Encoding.ASCII.GetBytes(input.ToString()), "--pipe");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("errors: 0, replies: 10000", result.Output, StringComparison.Ordinal);
        await using var check = await RespConnection.ConnectAsync(server.Port);
        Assert.Equal("*3\r\n$7\r\nvalue-0\r\n$10\r\nvalue-5000\r\n$10\r\nvalue-9999\r\n",
            await check.CommandAsync("MGET", "cli:mass:0", "cli:mass:5000", "cli:mass:9999"));
        Assert.Equal("*1\r\n$12\r\ncli:mass:123\r\n", await check.CommandAsync("KEYS", "cli:mass:123"));
    }

    [Fact]
    public async Task Pipe_mode_counts_error_replies()
    {
        var input = Encoding.ASCII.GetString(RespConnection.Encode("SET", "cli:errors", "x")) +
                    Encoding.ASCII.GetString(RespConnection.Encode("INCR", "cli:errors")) +
                    Encoding.ASCII.GetString(RespConnection.Encode("GET", "cli:errors", "extra"));

        var result = await RedisCli.RunAsync(server.Port, Encoding.ASCII.GetBytes(input), "--pipe");

        Assert.Contains("errors: 2, replies: 3", result.Output, StringComparison.Ordinal);
    }
}

using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Estoraje.Resp;
using Estoraje.Server;
using Estoraje.Server.Hosting;
using Estoraje.Server.Network;
using Estoraje.Storage.Memory;
using Estoraje.Tests.Support;

namespace Estoraje.Tests.Server;

/// <summary>While the store loads, commands without Redis's <c>loading</c> flag are refused as Redis does.</summary>
public sealed class LoadingTests
{
    private readonly ServerContext _server = new(new ServerOptions(), new MemoryStore(), TimeProvider.System, () => { }) { Loading = true };

    [Theory]
    [InlineData("GET k")]
    [InlineData("SET k v")]
    [InlineData("PING")]
    [InlineData("DBSIZE")]
    public async Task Command_without_the_loading_flag_gets_LOADING_while_the_store_loads(string command)
    {
        Assert.Equal("-LOADING Redis is loading the dataset in memory\r\n", await Run(command));
    }

    [Fact]
    public async Task Info_answers_while_loading_and_says_so()
    {
        var reply = await Run("INFO persistence");

        Assert.Contains("loading:1\r\n", reply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Commands_run_once_loading_ends()
    {
        _server.Loading = false;

        Assert.Equal("+PONG\r\n", await Run("PING"));
        Assert.Contains("loading:0\r\n", await Run("INFO persistence"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_write_commands_make_the_batch_wait_for_a_commit()
    {
        _server.Loading = false;
        var pipe = new Pipe();
        var session = new ClientSession(_server, pipe.Writer, "test", "test");

        Execute(session, "GET k");
        Assert.False(session.PendingCommit);
        Execute(session, "SET k v");
        Assert.True(session.PendingCommit);
        await pipe.Writer.CompleteAsync();
    }

    private Task<string> Run(string command) => CommandRunner.RunAsync(_server, command.Split(' '));

    private void Execute(ClientSession session, string command)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(command + "\r\n"));
        Assert.Equal(ParseStatus.Done, session.Parser.TryParse(ref buffer, out var request));
        _server.Commands.Execute(session, request);
    }
}

using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Estoraje.Resp;
using Estoraje.Server;
using Estoraje.Server.Cluster;
using Estoraje.Server.Network;

namespace Estoraje.Tests.Support;

/// <summary>Runs one command on a server context, as a new connection would, and returns the reply's bytes as text.</summary>
internal static class CommandRunner
{
    public static async Task<string> RunAsync(ServerContext server, params string[] arguments)
    {
        var pipe = new Pipe();
        using var session = new ClientSession(server, pipe.Writer, "test", "test");
        var buffer = new ReadOnlySequence<byte>(PeerConnection.Encode(arguments));
        Assert.Equal(ParseStatus.Done, session.Parser.TryParse(ref buffer, out var request));
        server.Commands.Execute(session, request);
        await pipe.Writer.CompleteAsync();
        var result = await pipe.Reader.ReadAsync();
        var text = Encoding.UTF8.GetString(result.Buffer.ToArray());
        pipe.Reader.AdvanceTo(result.Buffer.End);
        return text;
    }
}

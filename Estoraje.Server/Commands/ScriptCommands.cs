using System.Text;
using Estoraje.Resp;
using Estoraje.Server.Cluster;
using Estoraje.Server.Network;
using Estoraje.Server.Scripting;

namespace Estoraje.Server.Commands;

/// <summary>EVAL, EVALSHA, their read-only forms, and SCRIPT: Lua scripts (see <see cref="ScriptEngine"/>).</summary>
internal static class ScriptCommands
{
    public static void Eval(ClientSession client, RespRequest request) =>
        client.Server.Scripts.Evaluate(client, request, bySha: false, readOnly: false);

    public static void EvalSha(ClientSession client, RespRequest request) =>
        client.Server.Scripts.Evaluate(client, request, bySha: true, readOnly: false);

    public static void EvalRo(ClientSession client, RespRequest request) =>
        client.Server.Scripts.Evaluate(client, request, bySha: false, readOnly: true);

    public static void EvalShaRo(ClientSession client, RespRequest request) =>
        client.Server.Scripts.Evaluate(client, request, bySha: true, readOnly: true);

    /// <summary>SCRIPT LOAD script: caches it here and on every other node, and replies its SHA1.</summary>
    public static void Load(ClientSession client, RespRequest request)
    {
        var body = request.ToArray(2);
        var error = client.Server.Scripts.Load(body, out var sha, out _);
        if (error is not null)
        {
            client.Writer.WriteError(error);
            return;
        }

        if (!ScriptCluster.Spreads(client))
        {
            client.Writer.WriteBulkString(sha);
            return;
        }

        client.Defer(LoadEverywhereAsync(client, body, sha));

        static async Task<byte[]> LoadEverywhereAsync(ClientSession client, byte[] body, string sha)
        {
            await ScriptCluster.BroadcastAsync(client, PeerConnection.Encode("SCRIPT", [Encoding.ASCII.GetBytes("LOAD"), body]));
            return Encoding.ASCII.GetBytes($"$40\r\n{sha}\r\n");
        }
    }

    /// <summary>SCRIPT EXISTS sha...: 1 for each script some node of the cluster holds (EVALSHA then finds it).</summary>
    public static void Exists(ClientSession client, RespRequest request)
    {
        var scripts = client.Server.Scripts;
        var shas = new string[request.Count - 2];
        var found = new bool[shas.Length];
        var missing = false;
        for (var i = 0; i < shas.Length; i++)
        {
            shas[i] = request.GetString(i + 2).ToLowerInvariant();
            found[i] = scripts.Contains(shas[i]);
            missing |= !found[i];
        }

        if (!missing || !ScriptCluster.Spreads(client))
        {
            WriteFlags(client.Writer, found);
            return;
        }

        client.Defer(AskOthersAsync(client, shas, found));

        static async Task<byte[]> AskOthersAsync(ClientSession client, string[] shas, bool[] found)
        {
            var replies = await ScriptCluster.BroadcastAsync(client, PeerConnection.Encode(["SCRIPT", "EXISTS", .. shas]));
            foreach (var reply in replies)
            {
                if (reply is null || reply[0] != (byte)'*')
                    continue;
                var reader = new ReplyReader(reply);
                reader.ReadArrayHeader();
                for (var i = 0; i < found.Length; i++)
                    found[i] |= reader.ReadInteger() == 1;
            }

            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            WriteFlags(new RespWriter(buffer), found);
            return buffer.WrittenSpan.ToArray();
        }
    }

    /// <summary>SCRIPT FLUSH [ASYNC|SYNC]: empties the script cache of every node.</summary>
    public static void Flush(ClientSession client, RespRequest request)
    {
        if (request.Count > 3 || (request.Count == 3 && !request.Is(2, "SYNC"u8) && !request.Is(2, "ASYNC"u8)))
        {
            client.Writer.WriteError("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
            return;
        }

        client.Server.Scripts.Flush();
        if (!ScriptCluster.Spreads(client))
        {
            client.Writer.WriteOk();
            return;
        }

        client.Defer(FlushEverywhereAsync(client));

        static async Task<byte[]> FlushEverywhereAsync(ClientSession client)
        {
            await ScriptCluster.BroadcastAsync(client, PeerConnection.Encode("SCRIPT", "FLUSH"));
            return "+OK\r\n"u8.ToArray();
        }
    }

    /// <summary>SCRIPT KILL: stops the script running on this node, or else on the node running one.</summary>
    public static void Kill(ClientSession client, RespRequest request)
    {
        var outcome = client.Server.Scripts.Kill();
        if (outcome.StartsWith("NOTBUSY", StringComparison.Ordinal) && ScriptCluster.Spreads(client))
        {
            client.Defer(KillElsewhereAsync(client, outcome));
            return;
        }

        WriteOutcome(client.Writer, outcome);

        static async Task<byte[]> KillElsewhereAsync(ClientSession client, string local)
        {
            var replies = await ScriptCluster.BroadcastAsync(client, PeerConnection.Encode("SCRIPT", "KILL"));
            foreach (var reply in replies)
            {
                if (reply is not null && !reply.AsSpan().StartsWith("-NOTBUSY"u8))
                    return reply;
            }

            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            WriteOutcome(new RespWriter(buffer), local);
            return buffer.WrittenSpan.ToArray();
        }
    }

    /// <summary>SCRIPT DEBUG: Redis's Lua debugger is not offered; NO (the default) is accepted.</summary>
    public static void Debug(ClientSession client, RespRequest request)
    {
        if (request.Is(2, "NO"u8))
            client.Writer.WriteOk();
        else if (request.Is(2, "YES"u8) || request.Is(2, "SYNC"u8))
            client.Writer.WriteError("ERR SCRIPT DEBUG is not supported: Estoraje has no Lua debugger");
        else
            client.Writer.WriteError("ERR Use SCRIPT DEBUG YES/SYNC/NO");
    }

    public static void Help(ClientSession client, RespRequest request) => ServerCommands.WriteHelp(client, "SCRIPT",
    [
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
    ]);

    private static void WriteOutcome(RespWriter writer, string outcome)
    {
        if (outcome == "OK")
            writer.WriteOk();
        else
            writer.WriteError(outcome);
    }

    private static void WriteFlags(RespWriter writer, bool[] found)
    {
        writer.WriteArrayHeader(found.Length);
        foreach (var flag in found)
            writer.WriteInteger(flag ? 1 : 0);
    }
}

using Estoraje.Resp;
using Estoraje.Server.Cluster;
using Estoraje.Server.Network;

namespace Estoraje.Server.Scripting;

/// <summary>
/// The script cache across the cluster: SCRIPT LOAD and SCRIPT FLUSH reach every node, SCRIPT EXISTS asks them,
/// and an EVALSHA whose script this node lacks fetches the body from the others before it runs (a node that
/// joined or restarted since the script was loaded), so EVALSHA works on every node whichever one loaded it.
/// </summary>
internal static class ScriptCluster
{
    private static readonly byte[] s_noScript = System.Text.Encoding.ASCII.GetBytes("-" + ScriptEngine.NoScriptError + "\r\n");

    /// <summary>The other members of the cluster as <paramref name="client"/>'s node sees it (none when alone).</summary>
    public static List<ClusterMember> Others(ClientSession client)
    {
        var view = client.Server.Router.Membership.Current;
        var others = new List<ClusterMember>();
        foreach (var member in view.Members)
        {
            if (member.Id != view.SelfId)
                others.Add(member);
        }

        return others;
    }

    /// <summary>Whether a command of <paramref name="client"/> on the script cache must also reach the other nodes.</summary>
    public static bool Spreads(ClientSession client) => !client.IsPeer && client.Server.Options.Clustered && Others(client).Count > 0;

    /// <summary>Whether a missing script may be fetched from other nodes.</summary>
    public static bool CanFetch(ClientSession client) => client.Server.Options.Clustered && Others(client).Count > 0;

    /// <summary>
    /// Sends <paramref name="request"/> to every other node and returns their replies (null for a node that could not
    /// be reached: it fetches a script it lacks when asked to run it).
    /// </summary>
    public static async Task<List<byte[]?>> BroadcastAsync(ClientSession client, byte[] request)
    {
        var router = client.Server.Router;
        var sent = new List<Task<byte[]>>();
        foreach (var member in Others(client))
            sent.Add(router.ForwardAsync(member, request, 2));
        var replies = new List<byte[]?>();
        foreach (var reply in sent)
        {
            try
            {
                replies.Add(await reply);
            }
            catch (Exception ex) when (Router.IsUnreachable(ex))
            {
                replies.Add(null);
            }
        }

        return replies;
    }

    /// <summary>
    /// EVALSHA of a script this node lacks: fetches the body from the other nodes, then runs the script as EVAL
    /// with that body on the primary of its keys (this node through its own peer link, or another). Later commands
    /// of the client's batch that touch keys follow it (<see cref="ClientSession.WaitChain"/>), so they still run
    /// after it; NOSCRIPT when no node has the script.
    /// </summary>
    public static void FetchThenRun(ClientSession client, RespRequest request, string sha, bool readOnly)
    {
        var arguments = new byte[request.Count][];
        for (var i = 0; i < request.Count; i++)
            arguments[i] = request.ToArray(i);
        var sent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Defer(FetchThenRunAsync(client, arguments, sha, readOnly, client.Writer.Protocol, client.WaitChain ?? Task.CompletedTask, sent));
        client.WaitChain = sent.Task;
    }

    private static async Task<byte[]> FetchThenRunAsync(ClientSession client, byte[][] arguments, string sha, bool readOnly,
        int protocol, Task previous, TaskCompletionSource sent)
    {
        Task<byte[]> reply;
        try
        {
            await previous;
            var body = await FetchAsync(client, sha);
            if (body is null)
                return s_noScript;
            client.Server.Scripts.Load(body, out _, out _);
            arguments[1] = body;
            var view = client.Server.Router.Membership.Current;
            var target = view.ById[view.SelfId];
            if (arguments.Length > 3 && RespInteger.TryParse(arguments[2], out var numkeys) && numkeys > 0)
                target = view.MemberOf(view.Ring, view.Ring.PrimaryOf(Ring.KeySlot.Of(arguments[3])));
            reply = client.Server.Router.ForwardOrTryAgainAsync(target, PeerConnection.Encode(readOnly ? "EVAL_RO" : "EVAL", arguments[1..]), protocol);
        }
        finally
        {
            sent.TrySetResult();
        }

        return await reply;
    }

    // Asks every other node for the body of script sha; the first that has it answers.
    private static async Task<byte[]?> FetchAsync(ClientSession client, string sha)
    {
        var replies = await BroadcastAsync(client, PeerConnection.Encode("ESTORAJE.SCRIPT", sha));
        foreach (var reply in replies)
        {
            if (reply is null || reply[0] != (byte)'$')
                continue;
            var reader = new ReplyReader(reply);
            if (reader.TryReadBulk(out var body) && ScriptEngine.Sha1Hex(body) == sha)
                return body.ToArray();
        }

        return null;
    }

    /// <summary>ESTORAJE.SCRIPT sha: the body of a cached script, or null (from peers only).</summary>
    public static void Body(ClientSession client, RespRequest request)
    {
        if (!client.IsPeer)
        {
            client.Writer.WriteError("ERR ESTORAJE.SCRIPT is accepted from peers only");
            return;
        }

        if (client.Server.Scripts.TryGet(request.GetString(1).ToLowerInvariant(), out var script))
            client.Writer.WriteBulkString(script!.Body);
        else
            client.Writer.WriteNull();
    }
}

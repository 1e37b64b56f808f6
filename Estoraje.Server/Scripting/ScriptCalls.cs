using System.Buffers;
using Estoraje.Resp;
using Estoraje.Server.Commands;

namespace Estoraje.Server.Scripting;

/// <summary>
/// Runs a command a script calls (redis.call, redis.pcall) on this node's store, through the command table, with
/// Redis's checks for scripts, and captures its reply in the protocol the script reads replies in.
/// </summary>
internal static class ScriptCalls
{
    public const string NonLocalKey = "ERR Script attempted to access a non local key in a cluster node";

    /// <summary>Runs <paramref name="request"/> for <paramref name="run"/> and writes its reply (or the refusal) to <paramref name="reply"/>.</summary>
    public static void Execute(ScriptRun run, RespRequest request, IBufferWriter<byte> reply)
    {
        var session = run.Session;
        var writer = session.Writer;
        var output = writer.Output;
        var protocol = writer.Protocol;
        writer.Output = reply;
        writer.Protocol = run.Resp;
        try
        {
            var command = session.Server.Commands.Lookup(request);
            var refusal = Refusal(run, command, request);
            if (refusal is not null)
            {
                writer.WriteError(refusal);
                return;
            }

            if ((command!.Flags & CommandFlags.Write) != 0)
                run.Wrote = true;
            session.RunningScript = true;
            CommandTable.Execute(session, command, request);
        }
        finally
        {
            session.RunningScript = false;
            writer.Output = output;
            writer.Protocol = protocol;
        }
    }

    // Why a script may not run this command here, in Redis's order of checks; null when it may.
    private static string? Refusal(ScriptRun run, CommandDefinition? command, RespRequest request)
    {
        if (command is null)
            return "ERR Unknown Redis command called from script";
        if (!command.AcceptsArgumentCount(request.Count))
            return "ERR Wrong number of args calling Redis command from script";
        if ((command.Flags & CommandFlags.NoScript) != 0)
            return "ERR This Redis command is not allowed from script";
        var server = run.Session.Server;
        var writes = (command.Flags & CommandFlags.Write) != 0;
        if (writes && run.ReadOnly)
            return "ERR Write commands are not allowed from read-only scripts.";
        if (writes && server.Store.WriteError is { } diskError)
            return Errors.DiskError(diskError);
        return ClusterRefusal(run, command, request, writes);
    }

    // In a cluster a script runs on the primary of its declared keys; a key it reaches that this node does not
    // lead (or a write with no key, whose effect would stay here) is refused, as Redis Cluster refuses non-local keys.
    private static string? ClusterRefusal(ScriptRun run, CommandDefinition command, RespRequest request, bool writes)
    {
        var router = run.Session.Server.Router;
        var view = router.Membership.Current;
        if (view.Alone)
            return null;
        if (writes && !router.Membership.IsRegistered)
            return Cluster.Router.NotRegisteredError;
        var any = false;
        foreach (var position in command.Keys(request))
        {
            any = true;
            var slot = Ring.KeySlot.Of(request[position]);
            var primary = view.Ring.PrimaryOf(slot);
            var local = primary == view.SelfIndex
                || (router.ReadFromReplica && run.ReadOnly && view.Ring.ReplicasOf(slot).Contains(view.SelfIndex));
            if (!local || (router.Gate.ClosedCount > 0 && router.Gate.IsClosed(slot)))
                return NonLocalKey;
        }

        if (!any && writes)
            return NonLocalKey;
        return null;
    }
}

using Estoraje.Resp;
using Estoraje.Server.Cluster;
using Estoraje.Server.Network;

namespace Estoraje.Server.Commands;

/// <summary>
/// MULTI, EXEC, DISCARD, WATCH, UNWATCH, and the queueing of the commands sent in between. The connection loop
/// runs these itself, never routed: EXEC and WATCH find the node leading their keys (see <see cref="TransactionForwarding"/>).
/// </summary>
internal static class TransactionCommands
{
    /// <summary>The command table group of these commands.</summary>
    public const string Group = "transactions";

    public const string ExecAbort = "EXECABORT Transaction discarded because of previous errors.";

    /// <summary>
    /// Whether <paramref name="command"/> is queued when sent in MULTI: all but EXEC, DISCARD, MULTI, WATCH, QUIT
    /// and RESET, which run at once, as in Redis.
    /// </summary>
    public static bool IsQueued(CommandDefinition command) =>
        command.Parent is not null || command.Name is not ("exec" or "discard" or "multi" or "watch" or "quit" or "reset");

    /// <summary>Queues a command sent in MULTI (+QUEUED), or refuses one not allowed there, which makes EXEC fail.</summary>
    public static void Queue(ClientSession client, CommandDefinition command, RespRequest request)
    {
        if ((command.Flags & CommandFlags.NoMulti) != 0)
        {
            client.Transaction.Flag();
            client.Writer.WriteError("ERR Command not allowed inside a transaction");
            return;
        }

        client.Transaction.Queue(new QueuedCommand(command, PeerConnection.Encode(request), request));
        client.Writer.WriteRaw("+QUEUED\r\n"u8);
    }

    public static void Multi(ClientSession client, RespRequest request)
    {
        if (client.Transaction.Active)
        {
            client.Writer.WriteError("ERR MULTI calls can not be nested");
            return;
        }

        client.Transaction.Begin();
        client.Writer.WriteOk();
    }

    public static void Discard(ClientSession client, RespRequest request)
    {
        if (!client.Transaction.Active)
        {
            client.Writer.WriteError("ERR DISCARD without MULTI");
            return;
        }

        client.Transaction.Discard();
        client.Writer.WriteOk();
    }

    public static void Unwatch(ClientSession client, RespRequest request)
    {
        client.Transaction.Unwatch();
        client.Writer.WriteOk();
    }

    /// <summary>
    /// WATCH key [key ...]: remembers each key's stamp, read where the key's slot is led (here, or asked of its
    /// primary, whose answer the +OK waits for).
    /// </summary>
    public static void Watch(ClientSession client, RespRequest request)
    {
        var transaction = client.Transaction;
        if (transaction.Active)
        {
            client.Writer.WriteError("ERR WATCH inside MULTI is not allowed");
            return;
        }

        var view = client.Server.Router.Membership.Current;
        Dictionary<int, List<(byte[] Key, TaskCompletionSource<long> Stamp)>>? remote = null;
        for (var i = 1; i < request.Count; i++)
        {
            var key = request.ToArray(i);
            var leader = TransactionForwarding.OtherLeader(view, key);
            if (leader < 0)
            {
                transaction.Watched.Add(new WatchedKey(key, Task.FromResult(TransactionExecution.Stamp(client.Store, key))));
                continue;
            }

            remote ??= [];
            if (!remote.TryGetValue(leader, out var keys))
                remote[leader] = keys = [];
            var stamp = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            keys.Add((key, stamp));
            transaction.Watched.Add(new WatchedKey(key, stamp.Task));
        }

        if (remote is null)
            client.Writer.WriteOk();
        else
            client.Defer(TransactionForwarding.LookUpAsync(client.Server.Router, view, remote, client.Writer.Protocol));
    }

    /// <summary>EXEC: ends the transaction and runs it where its keys are led, unless a command was refused while queuing.</summary>
    public static void Exec(ClientSession client, RespRequest request)
    {
        var transaction = client.Transaction;
        if (!transaction.Active)
        {
            client.Writer.WriteError("ERR EXEC without MULTI");
            return;
        }

        var queued = transaction.Queued;
        var watched = transaction.Watched;
        var aborted = transaction.Aborted;
        transaction.Discard();
        if (aborted)
            client.Writer.WriteError(ExecAbort);
        else
            TransactionForwarding.Execute(client, queued, watched);
    }
}

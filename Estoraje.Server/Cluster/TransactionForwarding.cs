using System.Buffers;
using Estoraje.Resp;
using Estoraje.Server.Commands;
using Estoraje.Server.Network;

namespace Estoraje.Server.Cluster;

/// <summary>
/// Transactions in a cluster. EXEC runs a transaction atomically on the primary of its slot: every key of its
/// queued commands and every watched key must hash to one slot (else <c>-CROSSSLOT</c>, and the transaction is
/// discarded); commands over the whole keyspace (KEYS, SCAN, DBSIZE, RANDOMKEY, FLUSHALL, FLUSHDB) span every
/// slot and get it too. A transaction without keys runs where its client is. When another node leads the slot, the
/// transaction goes there whole, as one ESTORAJE.EXEC (slot, watched keys with their stamps, then each queued
/// command as one bulk holding its RESP request), on the link that carries the client's other forwarded commands,
/// and its reply is relayed. WATCH of a key another node leads asks that node for the stamp (ESTORAJE.WATCH): a
/// replica's copy may lag.
/// </summary>
internal static class TransactionForwarding
{
    private static readonly byte[] s_ok = "+OK\r\n"u8.ToArray();

    /// <summary>The ring index of the node leading <paramref name="key"/>'s slot, or -1 when it is this node.</summary>
    public static int OtherLeader(ClusterView view, ReadOnlySpan<byte> key)
    {
        if (view.Alone)
            return -1;
        var primary = view.Ring.PrimaryOf(Ring.KeySlot.Of(key));
        return primary == view.SelfIndex ? -1 : primary;
    }

    /// <summary>Runs a transaction taken out of <paramref name="client"/>'s MULTI here or on its slot's primary, and replies.</summary>
    public static void Execute(ClientSession client, List<QueuedCommand> queued, List<WatchedKey> watched)
    {
        var router = client.Server.Router;
        var view = router.Membership.Current;
        var slot = -1;
        if (!view.Alone && !TryGetSlot(queued, watched, out slot))
        {
            client.Writer.WriteError(Router.CrossSlotError);
            return;
        }

        var writes = TransactionExecution.HasWrites(queued);
        var primary = slot < 0 ? view.SelfIndex : view.Ring.PrimaryOf(slot);
        var here = primary == view.SelfIndex;
        // As for single writes (RespListener): a node whose lease may have lapsed runs no write itself.
        if (writes && here && !router.Membership.IsRegistered)
        {
            client.Writer.WriteError(TransactionExecution.AbortPrefix + Router.NotRegisteredError);
            return;
        }

        // The usual case runs now: earlier commands of the batch are not waiting, the stamps are known, the slot is open.
        var ready = client.WaitChain is null && Known(watched);
        if (here && (slot < 0 || (ready && !(router.Gate.ClosedCount > 0 && router.Gate.IsClosed(slot)))))
        {
            TransactionExecution.Run(client, queued, watched, view);
            return;
        }

        if (FirstConnectionCommand(queued) is { } command)
        {
            client.Writer.WriteError($"ERR '{command.FullName}' in a transaction needs the transaction to run on the node the client is connected to; " +
                                     "this one runs on the primary of its keys: send it outside MULTI");
            return;
        }

        // The primary acknowledges only once its quorum holds the writes: at least W−1 replicas.
        if (writes && Replication.Applies(view))
            client.LastWrite = WriteAcks.AtLeast(Replication.Quorum(client.Server.Options) - 1);
        if (!here && ready)
        {
            client.Defer(router.ForwardOrTryAgainAsync(view.MemberOf(view.Ring, primary), Encode(slot, queued, watched), client.Writer.Protocol));
            return;
        }

        // Later: once the batch's earlier waiting commands are sent, the stamps known and the slot open, on the
        // node leading the slot then (this one through its own peer link). Later commands of the batch queue behind.
        var sent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Defer(ForwardWhenReadyAsync(router, slot, queued, watched, client.Writer.Protocol, client.WaitChain ?? Task.CompletedTask, sent));
        client.WaitChain = sent.Task;
    }

    /// <summary>
    /// ESTORAJE.EXEC slot watched-count [key stamp ...] [request ...]: runs a transaction forwarded by the node its
    /// client is connected to (see <see cref="TransactionExecution.Run"/>), replying as EXEC does.
    /// </summary>
    public static void Exec(ClientSession client, RespRequest request)
    {
        if (!client.IsPeer)
        {
            client.Writer.WriteError("ERR ESTORAJE.EXEC is accepted from peers only");
            return;
        }

        if (!RespInteger.TryParse(request[1], out var slot) || slot is < 0 or >= Ring.KeySlot.Count ||
            !RespInteger.TryParse(request[2], out var count) || count < 0 || count > (request.Count - 3) / 2)
        {
            client.Writer.WriteError(Errors.Syntax);
            return;
        }

        var watched = new List<WatchedKey>((int)count);
        for (var i = 3; i < 3 + count * 2; i += 2)
        {
            if (!RespInteger.TryParse(request[i + 1], out var stamp))
            {
                client.Writer.WriteError(Errors.Syntax);
                return;
            }

            watched.Add(new WatchedKey(request.ToArray(i), Task.FromResult(stamp)));
        }

        var queued = new List<QueuedCommand>(request.Count - 3 - (int)count * 2);
        var parser = new RequestParser(client.Server.Limits);
        for (var i = 3 + (int)count * 2; i < request.Count; i++)
        {
            var bytes = request.ToArray(i);
            var buffer = new ReadOnlySequence<byte>(bytes);
            var command = parser.TryParse(ref buffer, out var parsed) == ParseStatus.Done && buffer.IsEmpty
                ? client.Server.Commands.Lookup(parsed)
                : null;
            // The client's node checked them when they were queued; a command that cannot run here is a bug or a rogue peer.
            if (command is null || !command.AcceptsArgumentCount(parsed.Count) || (command.Flags & CommandFlags.NoMulti) != 0)
            {
                client.Writer.WriteError("ERR ESTORAJE.EXEC carries a command that cannot run in a transaction");
                return;
            }

            queued.Add(new QueuedCommand(command, bytes, parsed));
        }

        TransactionExecution.Run(client, queued, watched, client.Server.Router.Membership.Current);
    }

    /// <summary>ESTORAJE.WATCH key [key ...]: each key's watch stamp as this node, its primary, holds it.</summary>
    public static void Watch(ClientSession client, RespRequest request)
    {
        if (!client.IsPeer)
        {
            client.Writer.WriteError("ERR ESTORAJE.WATCH is accepted from peers only");
            return;
        }

        client.Writer.WriteArrayHeader(request.Count - 1);
        for (var i = 1; i < request.Count; i++)
            client.Writer.WriteInteger(TransactionExecution.Stamp(client.Store, request[i]));
    }

    /// <summary>The slot a forwarded ESTORAJE.EXEC runs on (for the gate of a slot still being pulled), or -1.</summary>
    public static int SlotOf(RespRequest request) =>
        RespInteger.TryParse(request[1], out var slot) && slot is >= 0 and < Ring.KeySlot.Count ? (int)slot : -1;

    /// <summary>
    /// Asks each node of <paramref name="remote"/> for the stamps of its keys, completing their tasks; returns
    /// WATCH's reply: +OK, or the -TRYAGAIN of a node that could not answer (its keys' stamps then fail, and so does EXEC).
    /// </summary>
    public static Task<byte[]> LookUpAsync(Router router, ClusterView view, Dictionary<int, List<(byte[] Key, TaskCompletionSource<long> Stamp)>> remote, int protocol)
    {
        var parts = new List<Task<byte[]>>(remote.Count);
        foreach (var (member, keys) in remote)
            parts.Add(LookUpAsync(router, view.MemberOf(view.Ring, member), keys, protocol));
        return parts.Count == 1 ? parts[0] : FirstErrorAsync(parts);
    }

    private static async Task<byte[]> LookUpAsync(Router router, ClusterMember target, List<(byte[] Key, TaskCompletionSource<long> Stamp)> keys, int protocol)
    {
        try
        {
            var reply = await router.ForwardAsync(target, PeerConnection.Encode("ESTORAJE.WATCH", keys.ConvertAll(k => k.Key)), protocol);
            SetStamps(reply, keys);
            return s_ok;
        }
        catch (Exception ex) when (Router.IsUnreachable(ex) || ex is FormatException)
        {
            foreach (var (_, stamp) in keys)
                stamp.TrySetException(ex);
            return Router.TryAgainReply(target, ex);
        }
    }

    private static void SetStamps(byte[] reply, List<(byte[] Key, TaskCompletionSource<long> Stamp)> keys)
    {
        var reader = new ReplyReader(reply);
        if (reader.ReadArrayHeader() != keys.Count)
            throw new FormatException("ESTORAJE.WATCH answered a different number of stamps.");
        foreach (var (_, stamp) in keys)
            stamp.TrySetResult(reader.ReadInteger());
    }

    private static async Task<byte[]> FirstErrorAsync(List<Task<byte[]>> parts)
    {
        var replies = await Task.WhenAll(parts);
        foreach (var reply in replies)
        {
            if (reply[0] == (byte)'-')
                return reply;
        }

        return s_ok;
    }

    private static async Task<byte[]> ForwardWhenReadyAsync(Router router, int slot, List<QueuedCommand> queued, List<WatchedKey> watched,
        int protocol, Task previous, TaskCompletionSource sent)
    {
        byte[] request;
        try
        {
            foreach (var key in watched)
                await key.Stamp;
            request = Encode(slot, queued, watched);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A stamp its primary did not give (WATCH answered -TRYAGAIN): the transaction fails as if the key had
            // changed, once the commands sent before it are on their way.
            try
            {
                await previous;
            }
            finally
            {
                sent.TrySetResult();
            }

            return protocol >= 3 ? "_\r\n"u8.ToArray() : "*-1\r\n"u8.ToArray();
        }

        return await router.ForwardWhenOpenAsync(slot, request, protocol, previous, sent);
    }

    private static bool Known(List<WatchedKey> watched)
    {
        foreach (var key in watched)
        {
            if (!key.Stamp.IsCompleted)
                return false;
        }

        return true;
    }

    // The one slot of every key of the transaction (-1 when it has none); false when they span several.
    private static bool TryGetSlot(List<QueuedCommand> queued, List<WatchedKey> watched, out int slot)
    {
        slot = -1;
        foreach (var command in queued)
        {
            if (Router.BroadcastOf(command.Command) != MergeKind.None)
                return false;
            foreach (var key in command.Keys)
            {
                if (!SameSlot(key, ref slot))
                    return false;
            }
        }

        foreach (var key in watched)
        {
            if (!SameSlot(key.Key, ref slot))
                return false;
        }

        return true;
    }

    private static bool SameSlot(byte[] key, ref int slot)
    {
        var of = Ring.KeySlot.Of(key);
        if (slot < 0)
            slot = of;
        return of == slot;
    }

    // Commands about the client's own connection (HELLO, AUTH, CLIENT…, WAIT) cannot run on another node's link.
    private static CommandDefinition? FirstConnectionCommand(List<QueuedCommand> queued)
    {
        foreach (var command in queued)
        {
            var definition = command.Command;
            if ((definition.Group == "connection" && definition.Name is not ("ping" or "echo" or "select")) || definition.Name == "wait" ||
                (definition.Group == "pubsub" && definition.Name.EndsWith("subscribe", StringComparison.Ordinal)))
                return definition;
        }

        return null;
    }

    private static byte[] Encode(int slot, List<QueuedCommand> queued, List<WatchedKey> watched)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new RespWriter(buffer);
        writer.WriteArrayHeader(3 + watched.Count * 2 + queued.Count);
        writer.WriteBulkString("ESTORAJE.EXEC"u8);
        writer.WriteBulkString(slot);
        writer.WriteBulkString(watched.Count);
        foreach (var key in watched)
        {
            writer.WriteBulkString(key.Key);
            writer.WriteBulkString(key.Stamp.Result);
        }

        foreach (var command in queued)
            writer.WriteBulkString(command.Request);
        return buffer.WrittenSpan.ToArray();
    }
}

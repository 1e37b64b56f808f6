using System.Buffers;
using System.Globalization;
using Estoraje.Resp;
using Estoraje.Ring;
using Estoraje.Server.Commands;
using Estoraje.Server.Network;
using Estoraje.Storage;

namespace Estoraje.Server.Cluster;

/// <summary>
/// Primary-side replication: after a write runs here, the resulting record of each key it touched (value or
/// tombstone, with its version) is sent to the slot's other replicas (ESTORAJE.APPLY over the peer links),
/// and the client's reply is released only once W copies hold it (this node's, committed by the
/// connection loop, and W−1 acknowledgements). Fewer: <c>-NOREPLICAS</c>, the write is not acknowledged.
/// Replicas apply a record only if its version is newer, so re-delivery and reordering are harmless.
/// </summary>
/// <remarks>
/// Which keys are copied: those a <see cref="ReplicatedRun"/> collected while the commands ran, not the key spec of
/// the command the client sent. <see cref="CommandTable.Execute"/> adds the keys of every write command it runs on
/// the session to <see cref="ClientSession.WrittenKeys"/>, so one mechanism covers a plain write (one command),
/// EXEC (the queued commands, run under their shards' locks, then copied together, the reply waiting for W copies
/// of every key written) and a script whose calls write: open a run, execute, <see cref="ReplicatedRun.End"/>, then
/// <see cref="ReplicatedRun.ReplicateAsync"/> and defer the client's reply to it.
/// </remarks>
internal static class Replication
{
    public const string NoReplicasError = "NOREPLICAS Not enough good replicas to write.";
    private static readonly byte[] s_noReplicas = System.Text.Encoding.ASCII.GetBytes("-" + NoReplicasError + "\r\n");

    /// <summary>W: copies a write needs, the primary's included.</summary>
    public static int Quorum(Hosting.ServerOptions options) => Math.Min(options.EffectiveWriteQuorum, options.Replicas);

    /// <summary>Whether a command's effect is copied: a write on keys (ESTORAJE.APPLY is itself the copy).</summary>
    public static bool Replicates(CommandDefinition command) =>
        (command.Flags & CommandFlags.Write) != 0 && command.HasKeys;

    /// <summary>Whether writes of this node must be replicated: the ring keeps more than one copy.</summary>
    public static bool Applies(ClusterView view) => view.Ring.ReplicaCount > 1 || view.TargetRing.ReplicaCount > 1;

    /// <summary>
    /// Runs a write command here with its reply held back, then starts copying its records; returns the reply
    /// to send once enough copies acknowledged (or NOREPLICAS).
    /// </summary>
    public static Task<byte[]> ExecuteAsync(ClientSession session, CommandDefinition command, RespRequest request, ClusterView view)
    {
        if (view.Ring.ReplicaCount < Quorum(session.Server.Options))
            return Task.FromResult(s_noReplicas);

        var run = new ReplicatedRun(session);
        try
        {
            CommandTable.Execute(session, command, request);
        }
        finally
        {
            run.End();
        }

        return run.ReplicateAsync(view);
    }

    /// <summary>
    /// Copies the current record of each of <paramref name="keys"/> (written here, on their slots' primary) to
    /// the other replicas of its slot, and returns <paramref name="reply"/> once W copies of every record are
    /// held (NOREPLICAS when they cannot be). The keys are those a <see cref="ReplicatedRun"/> collected.
    /// </summary>
    public static Task<byte[]> ReplicateAsync(ClientSession session, ClusterView view, byte[] reply, IReadOnlyList<byte[]> keys)
    {
        var copies = new List<List<Task<byte[]>>>();
        foreach (var key in keys)
        {
            var apply = EncodeRecord(session.Store, key);
            if (apply is null)
                continue;
            var sent = new List<Task<byte[]>>();
            var slot = Ring.KeySlot.Of(key);
            var replicas = view.Ring.ReplicasOf(slot);
            foreach (var member in replicas)
            {
                if (member == view.SelfIndex)
                    continue;
                var target = view.MemberOf(view.Ring, member);
                var copy = session.Server.Router.CopyAsync(target, apply);
                session.Server.Hints?.Watch(copy, target, apply);
                sent.Add(copy);
            }

            copies.Add(sent);
            if (view.InTransition)
                CopyToJoiners(session.Server.Router, view, slot, replicas, apply);
        }

        session.LastWrite = WriteAcks.Track(copies);
        return copies.Count == 0 ? Task.FromResult(reply) : AwaitQuorumAsync(reply, copies, Quorum(session.Server.Options) - 1);
    }

    // A slot in transition also goes to its replicas in the target ring (a joining node pulling it must not miss
    // writes made during its pull). Those copies do not count towards W: the current replicas are the ones serving.
    private static void CopyToJoiners(Router router, ClusterView view, int slot, ReadOnlySpan<int> current, byte[] apply)
    {
        foreach (var member in view.TargetRing.ReplicasOf(slot))
        {
            var id = view.TargetRing.Members[member].Id;
            if (id == view.SelfId || IsAmong(view.Ring, current, id))
                continue;
            _ = router.CopyAsync(view.ById[id], apply).ContinueWith(static t => t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private static bool IsAmong(HashRing ring, ReadOnlySpan<int> members, string id)
    {
        foreach (var member in members)
        {
            if (ring.Members[member].Id == id)
                return true;
        }

        return false;
    }

    /// <summary>
    /// WAIT numreplicas timeout: the number of replicas holding this connection's last write, once it reaches
    /// numreplicas or the timeout (ms; 0 waits for ever, as Redis) passes. Without replication: 0.
    /// </summary>
    public static void Wait(ClientSession client, RespRequest request)
    {
        if (!RespInteger.TryParse(request[1], out var replicas) || !RespInteger.TryParse(request[2], out var timeout))
        {
            client.Writer.WriteError(Errors.NotInteger);
            return;
        }

        if (timeout < 0)
        {
            client.Writer.WriteError("ERR timeout is negative");
            return;
        }

        // Inside a transaction WAIT does not block, as in Redis: it tells how many replicas hold the write now.
        var last = client.LastWrite;
        if (replicas <= 0 || client.RunningTransaction || (last is not null && last.Acknowledged >= replicas))
        {
            client.Writer.WriteInteger(last?.Acknowledged ?? 0);
            return;
        }

        var wait = last is null
            ? (timeout == 0 ? Task.Delay(Timeout.Infinite).ContinueWith(_ => 0, TaskScheduler.Default) : Task.Delay(TimeSpan.FromMilliseconds(timeout)).ContinueWith(_ => 0, TaskScheduler.Default))
            : last.WaitAsync((int)Math.Min(replicas, int.MaxValue), TimeSpan.FromMilliseconds(timeout));
        client.Defer(EncodeAsync(wait));

        static async Task<byte[]> EncodeAsync(Task<int> count) =>
            System.Text.Encoding.ASCII.GetBytes($":{await count}\r\n");
    }

    /// <summary>
    /// When this node answers its part of a cluster-wide KEYS, SCAN or DBSIZE on a replicated ring, the keys it
    /// owns (is primary of): each key is then counted once across the cluster. Null: every key here counts.
    /// </summary>
    public static Func<byte[], bool>? OwnedKeys(ClientSession client)
    {
        var view = client.Server.Router.Membership.Current;
        if (!(client.IsPeer || client.OwnedKeysOnly) || !Applies(view))
            return null;
        return key => view.Ring.PrimaryOf(Ring.KeySlot.Of(key)) == view.SelfIndex;
    }

    /// <summary>ESTORAJE.APPLY key version kind expires-at [value]: a peer's record, applied if newer. Replies :1 or :0 (already newer).</summary>
    public static void Apply(ClientSession client, RespRequest request)
    {
        if (!client.IsPeer)
        {
            client.Writer.WriteError("ERR ESTORAJE.APPLY is accepted from peers only");
            return;
        }

        if (!RespInteger.TryParse(request[2], out var version) || !RespInteger.TryParse(request[3], out var kind) ||
            !RespInteger.TryParse(request[4], out var expiresAt) || version <= 0 || kind is < 0 or > (long)ValueKind.SortedSet ||
            (kind != 0 && request.Count != 6))
        {
            client.Writer.WriteError(Errors.Syntax);
            return;
        }

        var key = request.ToArray(1);
        var record = kind == 0
            ? StoreRecord.Tombstone(key, version)
            : new StoreRecord(key, version, (ValueKind)kind, request.ToArray(5), request[5].Length, expiresAt);
        client.Writer.WriteInteger(client.Store.Apply(record) ? 1 : 0);
    }

    // The key's state after the write, as an ESTORAJE.APPLY request; null when the store never had it (nothing to
    // copy). A store without tombstones cannot tell a deleted key from one it never had: its absent keys go as
    // tombstones, or replicas would keep what the primary deleted.
    private static byte[]? EncodeRecord(IKeyValueStore store, ReadOnlySpan<byte> key)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new RespWriter(buffer);
        return Records.Write(writer, store, key, "ESTORAJE.APPLY"u8, absentAsTombstone: !store.KeepsTombstones)
            ? buffer.WrittenSpan.ToArray()
            : null;
    }

    // Each record needs `needed` acknowledgements; the reply leaves as soon as every record has them, without
    // waiting for slower copies (a replica that is down answers only when its link gives up).
    private static async Task<byte[]> AwaitQuorumAsync(byte[] reply, List<List<Task<byte[]>>> copies, int needed)
    {
        foreach (var sent in copies)
        {
            var acknowledged = 0;
            var pending = new List<Task<byte[]>>(sent);
            while (acknowledged < needed && pending.Count >= needed - acknowledged)
            {
                var done = await Task.WhenAny(pending);
                pending.Remove(done);
                try
                {
                    if ((await done)[0] == (byte)':')
                        acknowledged++;
                }
                catch (Exception ex) when (Router.IsUnreachable(ex))
                {
                    // That replica is down: it misses this record until slot sync brings it up to date.
                }
            }

            if (acknowledged < needed)
                return s_noReplicas;
        }

        return reply;
    }
}

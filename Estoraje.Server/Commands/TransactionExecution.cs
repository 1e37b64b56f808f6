using System.Buffers;
using Estoraje.Resp;
using Estoraje.Server.Cluster;
using Estoraje.Server.Network;
using Estoraje.Storage;

namespace Estoraje.Server.Commands;

/// <summary>
/// Runs a transaction on the node that leads its keys (EXEC here, or ESTORAJE.EXEC from the client's node):
/// every store shard holding one of its keys (its commands' and its watched keys') is locked first, or every
/// shard when a command works on the whole keyspace, so no other command interleaves; the watched keys' stamps
/// are compared under those locks; then the queued commands run one after the other, their replies the elements
/// of EXEC's array. On a replicated ring the keys they wrote are copied and the reply waits for W copies.
/// </summary>
internal static class TransactionExecution
{
    /// <summary>How Redis's EXEC reports a refusal of the whole transaction (execCommandAbort).</summary>
    public const string AbortPrefix = "EXECABORT Transaction discarded because of: ";

    /// <summary>Writes EXEC's reply: null when a watched key changed, else the array of the commands' replies.</summary>
    public static void Run(ClientSession client, List<QueuedCommand> queued, List<WatchedKey> watched, ClusterView view)
    {
        var writes = HasWrites(queued);
        if (writes && client.Store.WriteError is { } writeError)
        {
            client.Writer.WriteError(AbortPrefix + Errors.DiskError(writeError));
            return;
        }

        var replicated = writes && Replication.Applies(view);
        if (replicated && view.Ring.ReplicaCount < Replication.Quorum(client.Server.Options))
        {
            client.Writer.WriteError(AbortPrefix + Replication.NoReplicasError);
            return;
        }

        var run = replicated ? new ReplicatedRun(client) : null;
        try
        {
            RunLocked(client, queued, watched);
        }
        finally
        {
            run?.End();
        }

        if (run is not null)
            client.Defer(run.ReplicateAsync(view));
    }

    /// <summary>Whether some queued command writes (the transaction then needs a registered, writable primary and replication).</summary>
    public static bool HasWrites(List<QueuedCommand> queued)
    {
        foreach (var command in queued)
        {
            if ((command.Command.Flags & CommandFlags.Write) != 0)
                return true;
        }

        return false;
    }

    /// <summary>
    /// What WATCH remembers of a key: the version of its live value; for a key that is absent (or expired), minus
    /// its tombstone's version, or, when the store keeps none, minus the store's clock reading (see <see cref="Unchanged"/>).
    /// </summary>
    public static long Stamp(IKeyValueStore store, ReadOnlySpan<byte> key)
    {
        using var keyLock = store.Lock(key);
        if (store.TryGet(key, out var value, touch: false))
            return value.Version;
        return store.TryGetVersion(key, out var version) ? -version : -store.Clock.Last;
    }

    /// <summary>
    /// Whether <paramref name="key"/> was left alone since WATCH read <paramref name="stamp"/>: any write of it, a
    /// deletion or an expiry included, gives it a new version (versions are unique per write); a key that was
    /// absent with no tombstone changed only if a write newer than that reading was removed from its shard since.
    /// </summary>
    public static bool Unchanged(IKeyValueStore store, ReadOnlySpan<byte> key, long stamp)
    {
        using var keyLock = store.Lock(key);
        if (store.TryGet(key, out var value, touch: false))
            return value.Version == stamp;
        if (store.TryGetVersion(key, out var version))
            return -version == stamp;
        return stamp <= 0 && store.RemovedVersion(key) <= -stamp;
    }

    private static void RunLocked(ClientSession client, List<QueuedCommand> queued, List<WatchedKey> watched)
    {
        var store = client.Store;
        using var locks = store.Lock(ShardMask(store, queued, watched));
        foreach (var key in watched)
        {
            // A stamp not known (its primary could not be asked) counts as a change: the client retries.
            if (!key.Stamp.IsCompletedSuccessfully || !Unchanged(store, key.Key, key.Stamp.Result))
            {
                client.Writer.WriteNullArray();
                return;
            }
        }

        client.Writer.WriteArrayHeader(queued.Count);
        var parser = new RequestParser(client.Server.Limits);
        client.RunningTransaction = true;
        try
        {
            foreach (var command in queued)
            {
                var buffer = new ReadOnlySequence<byte>(command.Request);
                if (parser.TryParse(ref buffer, out var request) == ParseStatus.Done)
                    CommandTable.Execute(client, command.Command, request);
                else
                    client.Writer.WriteError($"ERR internal error: a queued '{command.Command.FullName}' could not be read back");
            }
        }
        finally
        {
            client.RunningTransaction = false;
        }
    }

    private static ulong ShardMask(IKeyValueStore store, List<QueuedCommand> queued, List<WatchedKey> watched)
    {
        ulong mask = 0;
        foreach (var command in queued)
        {
            // FLUSHALL, KEYS, SCAN, DBSIZE, RANDOMKEY: the whole keyspace, every shard; so for a script, which may
            // reach any key (taking the shards it lacks while holding others could deadlock).
            if ((!command.Command.HasKeys && (command.Command.Flags & (CommandFlags.Write | CommandFlags.ReadOnly)) != 0) ||
                (command.Command.Flags & CommandFlags.UndeclaredKeys) != 0)
                return ulong.MaxValue;
            foreach (var key in command.Keys)
                mask |= store.ShardMask(key);
        }

        foreach (var key in watched)
            mask |= store.ShardMask(key.Key);
        return mask;
    }
}

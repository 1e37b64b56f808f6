using Estoraje.Resp;
using Estoraje.Storage;

namespace Estoraje.Server.Cluster;

/// <summary>
/// A key's record as it travels between nodes: an array of key, version, kind (0: tombstone), absolute expiry
/// and, for a value, its bytes — after the command name in ESTORAJE.APPLY, on its own in ESTORAJE.FETCH replies.
/// </summary>
internal static class Records
{
    /// <summary>
    /// Writes the store's current record of <paramref name="key"/> (live value or kept tombstone), preceded by
    /// <paramref name="command"/> when not empty; false, with nothing written, when the store has no version of it —
    /// unless <paramref name="absentAsTombstone"/>, for a store that keeps no tombstones (<see cref="IKeyValueStore.KeepsTombstones"/>):
    /// an absent key is then written as a tombstone at a new version, newer than any write of it so far.
    /// </summary>
    public static bool Write(RespWriter writer, IKeyValueStore store, ReadOnlySpan<byte> key, ReadOnlySpan<byte> command = default,
        bool absentAsTombstone = false)
    {
        // Version and value read under the key's lock: a write between the two reads would pair a value's
        // version with a tombstone (or the reverse), and the record would lie.
        using var keyLock = store.Lock(key);
        long version;
        if (!store.TryGetVersion(key, out version))
        {
            if (!absentAsTombstone)
                return false;
            version = store.Clock.Next();
        }

        var live = store.TryGet(key, out var value, touch: false);
        var head = command.IsEmpty ? 0 : 1;
        writer.WriteArrayHeader(head + (live ? 5 : 4));
        if (head == 1)
            writer.WriteBulkString(command);
        writer.WriteBulkString(key);
        writer.WriteBulkString(live ? value.Version : version);
        writer.WriteBulkString(live ? (long)value.Kind : 0);
        writer.WriteBulkString(live ? value.ExpiresAt : 0);
        if (live)
            writer.WriteBulkString(value.Bytes);
        return true;
    }

    /// <summary>Reads a record written by <see cref="Write"/> without a command name; null for a null array (no such key).</summary>
    public static StoreRecord? Read(ref ReplyReader reader)
    {
        var count = reader.ReadArrayHeader();
        if (count < 0)
            return null;
        if (count is not (4 or 5))
            throw new FormatException($"A record has 4 or 5 fields, not {count}.");
        var key = reader.ReadBulk().ToArray();
        var version = (long)reader.ReadBulkUnsigned();
        var kind = (int)reader.ReadBulkUnsigned();
        var expiresAt = (long)reader.ReadBulkUnsigned();
        if (kind == 0)
            return StoreRecord.Tombstone(key, version);
        if (kind > (int)ValueKind.SortedSet)
            throw new FormatException($"A record has an unknown kind {kind}.");
        var value = reader.ReadBulk().ToArray();
        return new StoreRecord(key, version, (ValueKind)kind, value, value.Length, expiresAt);
    }
}

using Estoraje.Resp;
using Estoraje.Server.Network;
using Estoraje.Storage;
using Estoraje.Storage.Collections;

namespace Estoraje.Server.Commands;

/// <summary>SADD, SMEMBERS, the set algebra and the rest of the set family. A set is one stored value (<see cref="SetValue"/>).</summary>
internal static class SetCommands
{
    /// <summary>The set algebra: SINTER, SUNION and SDIFF and their STORE and CARD forms.</summary>
    private enum Algebra
    {
        Intersection,
        Union,
        Difference,
    }

    public static void SAdd(ClientSession client, RespRequest request)
    {
        var members = Arguments(request, 2);
        Values.Change(client, request, ValueKind.Set, (client, request, value, found) =>
        {
            if (SetValue.Add(found ? value.Bytes : default, members, out var added) is { } encoded)
                client.Store.SetValue(request[1], ValueKind.Set, encoded, encoded.Length, found ? value.ExpiresAt : 0);
            client.Writer.WriteInteger(added);
        });
    }

    public static void SRem(ClientSession client, RespRequest request)
    {
        var members = Arguments(request, 2);
        Values.Change(client, request, ValueKind.Set, (client, request, value, found) =>
        {
            var removed = 0;
            if (found && SetValue.Remove(value.Bytes, members, out removed) is { } encoded)
                Values.Save(client.Store, request[1], ValueKind.Set, Values.CountOf(value) - removed, () => encoded, value.ExpiresAt);
            client.Writer.WriteInteger(removed);
        });
    }

    public static void SMembers(ClientSession client, RespRequest request)
    {
        if (Values.TryRead(client, request[1], ValueKind.Set, out var value, out var found))
            WriteSet(client.Writer, found ? SetValue.Decode(value.Bytes).Members : []);
    }

    public static void SIsMember(ClientSession client, RespRequest request)
    {
        if (Values.TryRead(client, request[1], ValueKind.Set, out var value, out var found))
            client.Writer.WriteInteger(found && SetValue.Contains(value.Bytes, request[2]) ? 1 : 0);
    }

    public static void SMIsMember(ClientSession client, RespRequest request)
    {
        if (!Values.TryRead(client, request[1], ValueKind.Set, out var value, out var found))
            return;
        var set = found ? SetValue.Decode(value.Bytes) : null;
        client.Writer.WriteArrayHeader(request.Count - 2);
        for (var i = 2; i < request.Count; i++)
            client.Writer.WriteInteger(set is not null && set.Contains(request[i]) ? 1 : 0);
    }

    public static void SCard(ClientSession client, RespRequest request)
    {
        if (Values.TryRead(client, request[1], ValueKind.Set, out var value, out var found))
            client.Writer.WriteInteger(found ? Values.CountOf(value) : 0);
    }

    public static void SPop(ClientSession client, RespRequest request)
    {
        var writer = client.Writer;
        if (request.Count > 3)
        {
            writer.WriteError(Errors.Syntax);
            return;
        }

        long count = 1;
        var withCount = request.Count == 3;
        if (withCount && (!RespInteger.TryParse(request[2], out count) || count < 0))
        {
            writer.WriteError(Errors.MustBePositive);
            return;
        }

        Values.Change(client, request, ValueKind.Set, (client, request, value, found) =>
        {
            var set = found ? SetValue.Decode(value.Bytes) : new SetValue();
            var popped = HashCommands.RandomPick([.. set.Members], count);
            foreach (var member in popped)
                set.Remove(member);
            if (popped.Count > 0)
                Values.Save(client.Store, request[1], ValueKind.Set, set.Count, set.Encode, value.ExpiresAt);
            if (withCount)
                WriteSet(client.Writer, popped);
            else if (popped.Count > 0)
                client.Writer.WriteBulkString(popped[0]);
            else
                client.Writer.WriteNull();
        });
    }

    public static void SRandMember(ClientSession client, RespRequest request)
    {
        var writer = client.Writer;
        if (request.Count > 3)
        {
            writer.WriteError(Errors.Syntax);
            return;
        }

        long count = 0;
        if (request.Count == 3)
        {
            if (!RespInteger.TryParse(request[2], out count))
            {
                writer.WriteError(Errors.NotInteger);
                return;
            }

            if (!Values.TryCheckRandomCount(client, count, pairs: false))
                return;
        }

        if (!Values.TryRead(client, request[1], ValueKind.Set, out var value, out var found))
            return;
        byte[][] members = found ? [.. SetValue.Decode(value.Bytes).Members] : [];
        if (request.Count == 2)
        {
            if (members.Length > 0)
                writer.WriteBulkString(members[Random.Shared.Next(members.Length)]);
            else
                writer.WriteNull();
            return;
        }

        List<byte[]> picked = members.Length > 0 ? HashCommands.RandomPick(members, count) : [];
        writer.WriteArrayHeader(picked.Count);
        foreach (var member in picked)
            writer.WriteBulkString(member);
    }

    public static void SMove(ClientSession client, RespRequest request)
    {
        var store = client.Store;
        var source = request[1];
        var destination = request[2];
        var member = request[3];
        var moved = 0;
        using (store.Lock(store.ShardMask(source) | store.ShardMask(destination)))
        {
            if (!Values.TryRead(client, source, ValueKind.Set, out var from, out var found))
                return;
            if (found)
            {
                if (!Values.TryRead(client, destination, ValueKind.Set, out var to, out var toFound))
                    return;
                byte[][] moving = [member.ToArray()];
                if (source.SequenceEqual(destination))
                {
                    moved = SetValue.Contains(from.Bytes, member) ? 1 : 0;
                }
                else if (SetValue.Remove(from.Bytes, moving, out moved) is { } remaining)
                {
                    if (SetValue.Add(toFound ? to.Bytes : default, moving, out _) is { } target)
                        store.SetValue(destination, ValueKind.Set, target, target.Length, toFound ? to.ExpiresAt : 0);
                    Values.Save(store, source, ValueKind.Set, Values.CountOf(from) - 1, () => remaining, from.ExpiresAt);
                }
            }
        }

        client.Writer.WriteInteger(moved);
    }

    public static void SScan(ClientSession client, RespRequest request)
    {
        if (!Values.TryStartScan(client, request, ValueKind.Set, allowNoValues: false, out var options, out var value))
            return;
        var page = new List<byte[]>();
        var next = CollectionScan.Step(SetValue.Decode(value.Bytes).Members, static member => member, options.Cursor, options.Count, page);
        page.RemoveAll(member => !options.Matches(member));

        Values.WriteScanReply(client, next, page.Count, writer =>
        {
            foreach (var member in page)
                writer.WriteBulkString(member);
        });
    }

    public static void SInter(ClientSession client, RespRequest request) => Combine(client, request, Algebra.Intersection, 1, request.Count);

    public static void SUnion(ClientSession client, RespRequest request) => Combine(client, request, Algebra.Union, 1, request.Count);

    public static void SDiff(ClientSession client, RespRequest request) => Combine(client, request, Algebra.Difference, 1, request.Count);

    public static void SInterStore(ClientSession client, RespRequest request) => CombineAndStore(client, request, Algebra.Intersection);

    public static void SUnionStore(ClientSession client, RespRequest request) => CombineAndStore(client, request, Algebra.Union);

    public static void SDiffStore(ClientSession client, RespRequest request) => CombineAndStore(client, request, Algebra.Difference);

    /// <summary>SINTERCARD numkeys key [key ...] [LIMIT limit].</summary>
    public static void SInterCard(ClientSession client, RespRequest request)
    {
        var writer = client.Writer;
        if (!RespInteger.TryParse(request[1], out var keys) || keys < 1)
        {
            writer.WriteError("ERR numkeys should be greater than 0");
            return;
        }

        if (keys > request.Count - 2)
        {
            writer.WriteError("ERR Number of keys can't be greater than number of args");
            return;
        }

        var end = 2 + (int)keys;
        long limit = 0;
        for (var i = end; i < request.Count; i++)
        {
            if (i + 1 < request.Count && request.Is(i, "LIMIT"u8))
            {
                if (!RespInteger.TryParse(request[++i], out limit) || limit < 0)
                {
                    writer.WriteError("ERR LIMIT can't be negative");
                    return;
                }
            }
            else
            {
                writer.WriteError(Errors.Syntax);
                return;
            }
        }

        var result = Compute(client, request, Algebra.Intersection, 2, end);
        if (result is not null)
            writer.WriteInteger(limit == 0 ? result.Count : Math.Min(limit, result.Count));
    }

    private static void Combine(ClientSession client, RespRequest request, Algebra algebra, int first, int end)
    {
        if (Compute(client, request, algebra, first, end) is { } result)
            WriteSet(client.Writer, result.Members);
    }

    private static void CombineAndStore(ClientSession client, RespRequest request, Algebra algebra)
    {
        var store = client.Store;
        var destination = request[1];
        SetValue? result;
        using (store.Lock(StringCommands.KeyMask(store, request, 1, 1)))
        {
            result = Compute(client, request, algebra, 2, request.Count);
            if (result is null)
                return;
            // The destination is replaced whatever it held, and without its old expiry, as Redis's setKey.
            Values.Save(store, destination, ValueKind.Set, result.Count, result.Encode, 0);
        }

        client.Writer.WriteInteger(result.Count);
    }

    // Reads the sets request[first..end) (a missing key is an empty set) and combines them; null after WRONGTYPE,
    // which every key is checked for before any shortcut, as Redis does.
    private static SetValue? Compute(ClientSession client, RespRequest request, Algebra algebra, int first, int end)
    {
        var store = client.Store;
        var sets = new SetValue?[end - first];
        using (store.Lock(StringCommands.KeyMask(store, request, first, 1)))
        {
            for (var i = first; i < end; i++)
            {
                if (!Values.TryRead(client, request[i], ValueKind.Set, out var value, out var found))
                    return null;
                sets[i - first] = found ? SetValue.Decode(value.Bytes) : null;
            }
        }

        switch (algebra)
        {
            case Algebra.Intersection:
            {
                if (Array.IndexOf(sets, null) >= 0)
                    return new SetValue();
                // Walk the smallest set, keep what every other set has.
                Array.Sort(sets, static (a, b) => a!.Count.CompareTo(b!.Count));
                var result = new SetValue();
                foreach (var member in sets[0]!.Members)
                {
                    var everywhere = true;
                    for (var j = 1; j < sets.Length && everywhere; j++)
                        everywhere = sets[j]!.Contains(member);
                    if (everywhere)
                        result.Add(member);
                }

                return result;
            }

            case Algebra.Union:
            {
                var result = new SetValue();
                foreach (var set in sets)
                {
                    foreach (var member in set?.Members ?? [])
                        result.Add(member);
                }

                return result;
            }

            default:
            {
                var result = sets[0] ?? new SetValue();
                for (var j = 1; j < sets.Length && result.Count > 0; j++)
                {
                    foreach (var member in sets[j]?.Members ?? [])
                        result.Remove(member);
                }

                return result;
            }
        }
    }

    private static byte[][] Arguments(RespRequest request, int first)
    {
        var arguments = new byte[request.Count - first][];
        for (var i = first; i < request.Count; i++)
            arguments[i - first] = request.ToArray(i);
        return arguments;
    }

    // SMEMBERS, the algebra and SPOP with a count reply a set: a RESP3 set, a RESP2 array.
    private static void WriteSet(RespWriter writer, IReadOnlyCollection<byte[]> members)
    {
        writer.WriteSetHeader(members.Count);
        foreach (var member in members)
            writer.WriteBulkString(member);
    }
}

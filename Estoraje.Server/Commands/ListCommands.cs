using Estoraje.Resp;
using Estoraje.Server.Network;
using Estoraje.Storage;
using Estoraje.Storage.Collections;

namespace Estoraje.Server.Commands;

/// <summary>
/// LPUSH, LRANGE and the rest of the list family, blocking pops aside. A list is one stored value whose encoding
/// commands splice (<see cref="ListValue"/>).
/// </summary>
internal static class ListCommands
{
    public static void LPush(ClientSession client, RespRequest request) => Push(client, request, head: true, onlyIfExists: false);

    public static void RPush(ClientSession client, RespRequest request) => Push(client, request, head: false, onlyIfExists: false);

    public static void LPushX(ClientSession client, RespRequest request) => Push(client, request, head: true, onlyIfExists: true);

    public static void RPushX(ClientSession client, RespRequest request) => Push(client, request, head: false, onlyIfExists: true);

    public static void LPop(ClientSession client, RespRequest request) => Pop(client, request, head: true);

    public static void RPop(ClientSession client, RespRequest request) => Pop(client, request, head: false);

    public static void LLen(ClientSession client, RespRequest request)
    {
        if (Values.TryRead(client, request[1], ValueKind.List, out var value, out var found))
            client.Writer.WriteInteger(found ? Values.CountOf(value) : 0);
    }

    public static void LIndex(ClientSession client, RespRequest request)
    {
        if (!Values.TryRead(client, request[1], ValueKind.List, out var value, out var found))
            return;
        if (!found)
        {
            client.Writer.WriteNull();
            return;
        }

        if (!RespInteger.TryParse(request[2], out var index))
        {
            client.Writer.WriteError(Errors.NotInteger);
            return;
        }

        if (ListValue.TryGet(value.Bytes, index, out var element))
            client.Writer.WriteBulkString(element);
        else
            client.Writer.WriteNull();
    }

    public static void LRange(ClientSession client, RespRequest request)
    {
        if (!TryParseIntegers(client, request[2], request[3], out var start, out var stop) ||
            !Values.TryRead(client, request[1], ValueKind.List, out var value, out var found))
            return;
        var writer = client.Writer;
        var reader = new ListValue.Reader(found ? value.Bytes : default);
        if (!TryClampRange(reader.Count, start, stop, out var from, out var count))
        {
            writer.WriteArrayHeader(0);
            return;
        }

        reader.Skip(from);
        writer.WriteArrayHeader(count);
        for (var i = 0; i < count && reader.TryRead(out var element); i++)
            writer.WriteBulkString(element);
    }

    public static void LSet(ClientSession client, RespRequest request) => Values.Change(client, request, ValueKind.List, static (client, request, value, found) =>
    {
        if (!found)
        {
            client.Writer.WriteError(Errors.NoSuchKey);
            return;
        }

        if (!RespInteger.TryParse(request[2], out var index))
        {
            client.Writer.WriteError(Errors.NotInteger);
            return;
        }

        var count = Values.CountOf(value);
        if (index < 0)
            index += count;
        if (index < 0 || index >= count)
        {
            client.Writer.WriteError("ERR index out of range");
            return;
        }

        Store(client, request[1], ListValue.Splice(value.Bytes, (int)index, 1, [request.ToArray(3)]), value.ExpiresAt);
        client.Writer.WriteOk();
    });

    public static void LRem(ClientSession client, RespRequest request)
    {
        if (!RespInteger.TryParse(request[2], out var count))
        {
            client.Writer.WriteError(Errors.NotInteger);
            return;
        }

        Values.Change(client, request, ValueKind.List, (client, request, value, found) =>
        {
            var removed = 0;
            if (found && ListValue.Remove(value.Bytes, request[3], count, out removed) is { } encoded)
                Values.Save(client.Store, request[1], ValueKind.List, Values.CountOf(value) - removed, () => encoded, value.ExpiresAt);
            client.Writer.WriteInteger(removed);
        });
    }

    public static void LTrim(ClientSession client, RespRequest request)
    {
        if (!TryParseIntegers(client, request[2], request[3], out var start, out var stop))
            return;
        Values.Change(client, request, ValueKind.List, (client, request, value, found) =>
        {
            var length = found ? Values.CountOf(value) : 0;
            if (!TryClampRange(length, start, stop, out var from, out var count))
                count = 0;
            if (count < length)
                Values.Save(client.Store, request[1], ValueKind.List, count, () => ListValue.Slice(value.Bytes, from, count), value.ExpiresAt);
            client.Writer.WriteOk();
        });
    }

    public static void LInsert(ClientSession client, RespRequest request)
    {
        var after = request.Is(2, "AFTER"u8);
        if (!after && !request.Is(2, "BEFORE"u8))
        {
            client.Writer.WriteError(Errors.Syntax);
            return;
        }

        Values.Change(client, request, ValueKind.List, (client, request, value, found) =>
        {
            if (!found)
            {
                client.Writer.WriteInteger(0);
                return;
            }

            var reader = new ListValue.Reader(value.Bytes);
            while (reader.TryRead(out var element))
            {
                if (element.SequenceEqual(request[3]))
                {
                    var pivot = reader.Index - 1;
                    Store(client, request[1], ListValue.Splice(value.Bytes, after ? pivot + 1 : pivot, 0, [request.ToArray(4)]), value.ExpiresAt);
                    client.Writer.WriteInteger(reader.Count + 1);
                    return;
                }
            }

            client.Writer.WriteInteger(-1);
        });
    }

    public static void LPos(ClientSession client, RespRequest request)
    {
        long rank = 1, count = -1, maxLength = 0;
        for (var i = 3; i < request.Count; i++)
        {
            var more = i + 1 < request.Count;
            if (more && request.Is(i, "RANK"u8))
            {
                // Redis 7.2 on: |rank| must fit a long (7.0 overflowed on the smallest long).
                if (!RespInteger.TryParse(request[++i], out rank))
                {
                    client.Writer.WriteError(Errors.NotInteger);
                    return;
                }

                if (rank == long.MinValue)
                {
                    client.Writer.WriteError(Errors.NotLongMagnitude);
                    return;
                }

                if (rank == 0)
                {
                    client.Writer.WriteError("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
                    return;
                }
            }
            else if (more && request.Is(i, "COUNT"u8))
            {
                if (!RespInteger.TryParse(request[++i], out count) || count < 0)
                {
                    client.Writer.WriteError("ERR COUNT can't be negative");
                    return;
                }
            }
            else if (more && request.Is(i, "MAXLEN"u8))
            {
                if (!RespInteger.TryParse(request[++i], out maxLength) || maxLength < 0)
                {
                    client.Writer.WriteError("ERR MAXLEN can't be negative");
                    return;
                }
            }
            else
            {
                client.Writer.WriteError(Errors.Syntax);
                return;
            }
        }

        if (!Values.TryRead(client, request[1], ValueKind.List, out var value, out var found))
            return;
        var matches = found ? FindMatches(value.Bytes, request[2], rank, count == -1 ? 1 : count, maxLength) : [];
        var writer = client.Writer;
        if (count != -1)
        {
            writer.WriteArrayHeader(matches.Count);
            foreach (var index in matches)
                writer.WriteInteger(index);
        }
        else if (matches.Count > 0)
        {
            writer.WriteInteger(matches[0]);
        }
        else
        {
            writer.WriteNull();
        }
    }

    public static void LMove(ClientSession client, RespRequest request)
    {
        if (!TryParseEnd(request, 3, out var fromHead) || !TryParseEnd(request, 4, out var toHead))
        {
            client.Writer.WriteError(Errors.Syntax);
            return;
        }

        Move(client, request[1], request[2], fromHead, toHead);
    }

    public static void RPopLPush(ClientSession client, RespRequest request) => Move(client, request[1], request[2], fromHead: false, toHead: true);

    /// <summary>LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: pops from the first of the keys holding a list.</summary>
    public static void LMPop(ClientSession client, RespRequest request)
    {
        var writer = client.Writer;
        if (!RespInteger.TryParse(request[1], out var keys) || keys < 1)
        {
            writer.WriteError("ERR numkeys should be greater than 0");
            return;
        }

        if (keys >= request.Count - 2 || !TryParseEnd(request, 2 + (int)keys, out var head))
        {
            writer.WriteError(Errors.Syntax);
            return;
        }

        var end = 2 + (int)keys;
        long wanted = -1;
        for (var i = end + 1; i < request.Count; i++)
        {
            if (wanted == -1 && i + 1 < request.Count && request.Is(i, "COUNT"u8))
            {
                if (!RespInteger.TryParse(request[++i], out wanted) || wanted < 1)
                {
                    writer.WriteError("ERR count should be greater than 0");
                    return;
                }
            }
            else
            {
                writer.WriteError(Errors.Syntax);
                return;
            }
        }

        var store = client.Store;
        using (store.Lock(StringCommands.KeyMask(store, request, 2, 1)))
        {
            for (var i = 2; i < end; i++)
            {
                if (!Values.TryRead(client, request[i], ValueKind.List, out var value, out var found))
                    return;
                if (!found)
                    continue;
                writer.WriteArrayHeader(2);
                writer.WriteBulkString(request[i]);
                PopFrom(client, request[i], value, head, Math.Max(wanted, 1), asArray: true);
                return;
            }
        }

        writer.WriteNullArray();
    }

    private static void Push(ClientSession client, RespRequest request, bool head, bool onlyIfExists)
    {
        // LPUSH k a b c leaves c first: the elements go in, in the order they end up.
        var elements = new byte[request.Count - 2][];
        for (var i = 2; i < request.Count; i++)
            elements[head ? request.Count - 1 - i : i - 2] = request.ToArray(i);

        Values.Change(client, request, ValueKind.List, (client, request, value, found) =>
        {
            if (!found && onlyIfExists)
            {
                client.Writer.WriteInteger(0);
                return;
            }

            var old = found ? value.Bytes : default;
            var count = ListValue.CountOf(old);
            Store(client, request[1], ListValue.Splice(old, head ? 0 : count, 0, elements), found ? value.ExpiresAt : 0);
            client.Writer.WriteInteger(count + elements.Length);
        });
    }

    private static void Pop(ClientSession client, RespRequest request, bool head)
    {
        if (request.Count > 3)
        {
            client.Writer.WriteError(Errors.WrongArity(client.LastCommand));
            return;
        }

        long wanted = 1;
        var withCount = request.Count == 3;
        if (withCount && (!RespInteger.TryParse(request[2], out wanted) || wanted < 0))
        {
            client.Writer.WriteError(Errors.MustBePositive);
            return;
        }

        Values.Change(client, request, ValueKind.List, (client, request, value, found) =>
        {
            if (found)
                PopFrom(client, request[1], value, head, wanted, asArray: withCount);
            else if (withCount)
                client.Writer.WriteNullArray();
            else
                client.Writer.WriteNull();
        });
    }

    // Stores a list's new encoding that still holds elements.
    private static void Store(ClientSession client, ReadOnlySpan<byte> key, byte[] encoded, long expiresAt) =>
        client.Store.SetValue(key, ValueKind.List, encoded, encoded.Length, expiresAt);

    // Pops up to `wanted` elements of a stored list (the caller holds its lock), writing them as an array or, for
    // a single pop without a count, as one bulk string.
    private static void PopFrom(ClientSession client, ReadOnlySpan<byte> key, StoredValue value, bool head, long wanted, bool asArray)
    {
        var length = Values.CountOf(value);
        var popped = (int)Math.Min(wanted, length);
        var writer = client.Writer;
        if (asArray)
            writer.WriteArrayHeader(popped);
        WriteEnd(writer, value.Bytes, head, popped);
        if (popped > 0)
            Values.Save(client.Store, key, ValueKind.List, length - popped, () => ListValue.Splice(value.Bytes, head ? 0 : length - popped, popped, []), value.ExpiresAt);
    }

    // The first `count` elements from the head, or the last ones from the tail inwards: the order pops return them in.
    private static void WriteEnd(RespWriter writer, ReadOnlySpan<byte> encoded, bool head, int count)
    {
        var reader = new ListValue.Reader(encoded);
        if (head)
        {
            for (var i = 0; i < count && reader.TryRead(out var element); i++)
                writer.WriteBulkString(element);
            return;
        }

        reader.Skip(reader.Count - count);
        var ends = new (int Start, int Length)[count];
        for (var i = count - 1; i >= 0 && reader.TryRead(out var element); i--)
            ends[i] = (reader.Offset - element.Length, element.Length);
        foreach (var (start, length) in ends)
            writer.WriteBulkString(encoded.Slice(start, length));
    }

    // LMOVE and RPOPLPUSH. The destination's type is checked before anything is popped, as Redis does; with the
    // same key on both sides the list rotates.
    private static void Move(ClientSession client, ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, bool fromHead, bool toHead)
    {
        var store = client.Store;
        using (store.Lock(store.ShardMask(source) | store.ShardMask(destination)))
        {
            if (!Values.TryRead(client, source, ValueKind.List, out var from, out var found))
                return;
            if (!found)
            {
                client.Writer.WriteNull();
                return;
            }

            var sameKey = source.SequenceEqual(destination);
            var to = from;
            var toFound = true;
            if (!sameKey && !Values.TryRead(client, destination, ValueKind.List, out to, out toFound))
                return;

            var length = Values.CountOf(from);
            if (!ListValue.TryGet(from.Bytes, fromHead ? 0 : -1, out var element))
                throw CollectionEncoding.Corrupt("list");
            var moved = element.ToArray();
            var remaining = ListValue.Splice(from.Bytes, fromHead ? 0 : length - 1, 1, []);
            var target = sameKey ? remaining : toFound ? to.Bytes : default;
            var pushed = ListValue.Splice(target, toHead ? 0 : ListValue.CountOf(target), 0, [moved]);
            if (!sameKey)
                Values.Save(store, source, ValueKind.List, length - 1, () => remaining, from.ExpiresAt);
            Store(client, destination, pushed, toFound ? to.ExpiresAt : 0);
            client.Writer.WriteBulkString(moved);
        }
    }

    // LPOS: the indexes of up to `count` matches (0: all), skipping the first |rank|-1 (from the tail when rank is
    // negative), comparing at most `maxLength` elements (0: all).
    private static List<long> FindMatches(ReadOnlySpan<byte> encoded, ReadOnlySpan<byte> wanted, long rank, long count, long maxLength)
    {
        var reader = new ListValue.Reader(encoded);
        var length = reader.Count;
        var fromTail = rank < 0;
        var skip = (fromTail ? -rank : rank) - 1;
        var scanned = maxLength == 0 ? length : Math.Min(maxLength, length);
        // From the tail, only the last `scanned` elements are compared; the walk still starts at the head.
        var first = fromTail ? length - scanned : 0;
        reader.Skip((int)first);
        var indexes = new List<long>();
        while (reader.TryRead(out var element) && reader.Index <= first + scanned)
        {
            if (element.SequenceEqual(wanted))
                indexes.Add(reader.Index - 1);
        }

        if (fromTail)
            indexes.Reverse();
        var matches = new List<long>();
        for (var i = skip; i < indexes.Count && (count == 0 || matches.Count < count); i++)
            matches.Add(indexes[(int)i]);
        return matches;
    }

    private static bool TryParseEnd(RespRequest request, int index, out bool head)
    {
        head = request.Is(index, "LEFT"u8);
        return head || request.Is(index, "RIGHT"u8);
    }

    private static bool TryParseIntegers(ClientSession client, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, out long a, out long b)
    {
        b = 0;
        if (RespInteger.TryParse(first, out a) && RespInteger.TryParse(second, out b))
            return true;
        client.Writer.WriteError(Errors.NotInteger);
        return false;
    }

    // LRANGE and LTRIM's reading of start and stop: negative counts from the tail, clamped to the list; false for
    // an empty range.
    private static bool TryClampRange(int length, long start, long stop, out int from, out int count)
    {
        from = count = 0;
        if (start < 0)
            start += length;
        if (stop < 0)
            stop += length;
        if (start < 0)
            start = 0;
        if (start > stop || start >= length)
            return false;
        if (stop >= length)
            stop = length - 1;
        from = (int)start;
        count = (int)(stop - start + 1);
        return true;
    }
}

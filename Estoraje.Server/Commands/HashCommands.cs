using System.Globalization;
using Estoraje.Resp;
using Estoraje.Server.Network;
using Estoraje.Storage;
using Estoraje.Storage.Collections;

namespace Estoraje.Server.Commands;

/// <summary>HSET, HGET and the rest of the hash family. A hash is one stored value (<see cref="HashValue"/>).</summary>
internal static class HashCommands
{
    public static void HSet(ClientSession client, RespRequest request)
    {
        if (StringCommands.HasPairsFrom(client, request, 2))
            SetFields(client, request, onlyIfNew: false, static (writer, added) => writer.WriteInteger(added));
    }

    public static void HMSet(ClientSession client, RespRequest request)
    {
        if (StringCommands.HasPairsFrom(client, request, 2))
            SetFields(client, request, onlyIfNew: false, static (writer, _) => writer.WriteOk());
    }

    public static void HSetNx(ClientSession client, RespRequest request) =>
        SetFields(client, request, onlyIfNew: true, static (writer, added) => writer.WriteInteger(added));

    public static void HGet(ClientSession client, RespRequest request)
    {
        if (!Values.TryRead(client, request[1], ValueKind.Hash, out var value, out var found))
            return;
        if (found && HashValue.TryFind(value.Bytes, request[2], out var field))
            client.Writer.WriteBulkString(field);
        else
            client.Writer.WriteNull();
    }

    public static void HMGet(ClientSession client, RespRequest request)
    {
        if (!Values.TryRead(client, request[1], ValueKind.Hash, out var value, out var found))
            return;
        var writer = client.Writer;
        var hash = found ? HashValue.Decode(value.Bytes) : null;
        writer.WriteArrayHeader(request.Count - 2);
        for (var i = 2; i < request.Count; i++)
        {
            if (hash is not null && hash.TryGet(request[i], out var field))
                writer.WriteBulkString(field);
            else
                writer.WriteNull();
        }
    }

    public static void HGetAll(ClientSession client, RespRequest request)
    {
        if (!Values.TryRead(client, request[1], ValueKind.Hash, out var value, out var found))
            return;
        var writer = client.Writer;
        if (!found)
        {
            writer.WriteMapHeader(0);
            return;
        }

        var hash = HashValue.Decode(value.Bytes);
        writer.WriteMapHeader(hash.Count);
        foreach (var (field, bytes) in hash.Fields)
        {
            writer.WriteBulkString(field);
            writer.WriteBulkString(bytes);
        }
    }

    public static void HKeys(ClientSession client, RespRequest request) => WriteAll(client, request, keys: true);

    public static void HVals(ClientSession client, RespRequest request) => WriteAll(client, request, keys: false);

    public static void HLen(ClientSession client, RespRequest request)
    {
        if (Values.TryRead(client, request[1], ValueKind.Hash, out var value, out var found))
            client.Writer.WriteInteger(found ? Values.CountOf(value) : 0);
    }

    public static void HExists(ClientSession client, RespRequest request)
    {
        if (Values.TryRead(client, request[1], ValueKind.Hash, out var value, out var found))
            client.Writer.WriteInteger(found && HashValue.TryFind(value.Bytes, request[2], out _) ? 1 : 0);
    }

    public static void HStrLen(ClientSession client, RespRequest request)
    {
        if (Values.TryRead(client, request[1], ValueKind.Hash, out var value, out var found))
            client.Writer.WriteInteger(found && HashValue.TryFind(value.Bytes, request[2], out var field) ? field.Length : 0);
    }

    public static void HDel(ClientSession client, RespRequest request) =>
        Values.Change(client, request, ValueKind.Hash, static (client, request, value, found) =>
        {
            var removed = 0;
            if (found)
            {
                var hash = HashValue.Decode(value.Bytes);
                for (var i = 2; i < request.Count; i++)
                {
                    if (hash.Remove(request[i]))
                        removed++;
                }

                if (removed > 0)
                    Values.Save(client.Store, request[1], ValueKind.Hash, hash.Count, hash.Encode, value.ExpiresAt);
            }

            client.Writer.WriteInteger(removed);
        });

    public static void HIncrBy(ClientSession client, RespRequest request)
    {
        if (!RespInteger.TryParse(request[3], out var delta))
        {
            client.Writer.WriteError(Errors.NotInteger);
            return;
        }

        Update(client, request, (writer, current) =>
        {
            long number = 0;
            if (current is not null && !RespInteger.TryParse(current, out number))
            {
                writer.WriteError("ERR hash value is not an integer");
                return null;
            }

            if ((delta < 0 && number < 0 && delta < long.MinValue - number) ||
                (delta > 0 && number > 0 && delta > long.MaxValue - number))
            {
                writer.WriteError(Errors.Overflow);
                return null;
            }

            writer.WriteInteger(number + delta);
            return System.Text.Encoding.ASCII.GetBytes((number + delta).ToString(CultureInfo.InvariantCulture));
        });
    }

    public static void HIncrByFloat(ClientSession client, RespRequest request)
    {
        if (!Numbers.TryParseDouble(request[3], out var delta))
        {
            client.Writer.WriteError(Errors.NotFloat);
            return;
        }

        if (double.IsInfinity(delta))
        {
            client.Writer.WriteError("ERR value is NaN or Infinity");
            return;
        }

        Update(client, request, (writer, current) =>
        {
            double number = 0;
            if (current is not null && !Numbers.TryParseDouble(current, out number))
            {
                writer.WriteError("ERR hash value is not a float");
                return null;
            }

            var result = number + delta;
            if (double.IsNaN(result) || double.IsInfinity(result))
            {
                writer.WriteError(Errors.NaNOrInfinity);
                return null;
            }

            var text = System.Text.Encoding.ASCII.GetBytes(Numbers.FormatHuman(result));
            writer.WriteBulkString(text);
            return text;
        });
    }

    public static void HRandField(ClientSession client, RespRequest request)
    {
        long count = 0;
        var withValues = false;
        if (request.Count > 2)
        {
            if (!RespInteger.TryParse(request[2], out count))
            {
                client.Writer.WriteError(Errors.NotInteger);
                return;
            }

            if (request.Count > 4 || (request.Count == 4 && !request.Is(3, "WITHVALUES"u8)))
            {
                client.Writer.WriteError(Errors.Syntax);
                return;
            }

            withValues = request.Count == 4;
            if (!Values.TryCheckRandomCount(client, count, withValues))
                return;
        }

        if (!Values.TryRead(client, request[1], ValueKind.Hash, out var value, out var found))
            return;
        var writer = client.Writer;
        if (request.Count == 2)
        {
            if (!found)
            {
                writer.WriteNull();
                return;
            }

            var all = HashValue.Decode(value.Bytes).Fields.Keys.ToArray();
            writer.WriteBulkString(all[Random.Shared.Next(all.Length)]);
            return;
        }

        if (!found || count == 0)
        {
            writer.WriteArrayHeader(0);
            return;
        }

        var pairs = HashValue.Decode(value.Bytes).Fields.ToArray();
        var picked = RandomPick(pairs, count);
        if (withValues && writer.IsResp3)
        {
            writer.WriteArrayHeader(picked.Count);
            foreach (var (field, bytes) in picked)
            {
                writer.WriteArrayHeader(2);
                writer.WriteBulkString(field);
                writer.WriteBulkString(bytes);
            }

            return;
        }

        writer.WriteArrayHeader(withValues ? picked.Count * 2 : picked.Count);
        foreach (var (field, bytes) in picked)
        {
            writer.WriteBulkString(field);
            if (withValues)
                writer.WriteBulkString(bytes);
        }
    }

    public static void HScan(ClientSession client, RespRequest request)
    {
        if (!Values.TryStartScan(client, request, ValueKind.Hash, allowNoValues: true, out var options, out var value))
            return;
        var page = new List<KeyValuePair<byte[], byte[]>>();
        var next = CollectionScan.Step(HashValue.Decode(value.Bytes).Fields, static pair => pair.Key, options.Cursor, options.Count, page);
        page.RemoveAll(pair => !options.Matches(pair.Key));

        Values.WriteScanReply(client, next, options.NoValues ? page.Count : page.Count * 2, writer =>
        {
            foreach (var (field, bytes) in page)
            {
                writer.WriteBulkString(field);
                if (!options.NoValues)
                    writer.WriteBulkString(bytes);
            }
        });
    }

    /// <summary>
    /// Picks <paramref name="count"/> elements at random, as Redis's HRANDFIELD, SRANDMEMBER and ZRANDMEMBER: a
    /// positive count gives distinct elements (all of them when it is larger), a negative one |count| elements
    /// that may repeat.
    /// </summary>
    internal static List<T> RandomPick<T>(T[] elements, long count)
    {
        if (count < 0)
        {
            var repeated = new List<T>((int)Math.Min(-count, 1 << 16));
            for (long i = 0; i < -count; i++)
                repeated.Add(elements[Random.Shared.Next(elements.Length)]);
            return repeated;
        }

        if (count >= elements.Length)
            return [.. elements];
        var shuffled = (T[])elements.Clone();
        Random.Shared.Shuffle(shuffled);
        return [.. shuffled.AsSpan(0, (int)count)];
    }

    // Sets the pairs from index 2 on (HSETNX: only if its field is new), then replies with the count of fields added.
    private static void SetFields(ClientSession client, RespRequest request, bool onlyIfNew, Action<RespWriter, int> reply) =>
        Values.Change(client, request, ValueKind.Hash, (client, request, value, found) =>
        {
            var added = 0;
            var hash = found ? HashValue.Decode(value.Bytes) : new HashValue(request.Count / 2);
            if (!onlyIfNew || !hash.Contains(request[2]))
            {
                for (var i = 2; i + 1 < request.Count; i += 2)
                {
                    if (hash.Set(request[i], request.ToArray(i + 1)))
                        added++;
                }

                Values.Save(client.Store, request[1], ValueKind.Hash, hash.Count, hash.Encode, found ? value.ExpiresAt : 0);
            }

            reply(client.Writer, added);
        });

    // HINCRBY and HINCRBYFLOAT: the change sees the field's bytes (null when missing), writes the reply or an
    // error, and returns the new bytes (null: nothing changes).
    private static void Update(ClientSession client, RespRequest request, Func<RespWriter, byte[]?, byte[]?> change) =>
        Values.Change(client, request, ValueKind.Hash, (client, request, value, found) =>
        {
            var hash = found ? HashValue.Decode(value.Bytes) : new HashValue(1);
            var updated = change(client.Writer, hash.TryGet(request[2], out var current) ? current : null);
            if (updated is null)
                return;
            hash.Set(request[2], updated);
            Values.Save(client.Store, request[1], ValueKind.Hash, hash.Count, hash.Encode, found ? value.ExpiresAt : 0);
        });

    private static void WriteAll(ClientSession client, RespRequest request, bool keys)
    {
        if (!Values.TryRead(client, request[1], ValueKind.Hash, out var value, out var found))
            return;
        var writer = client.Writer;
        if (!found)
        {
            writer.WriteArrayHeader(0);
            return;
        }

        var hash = HashValue.Decode(value.Bytes);
        writer.WriteArrayHeader(hash.Count);
        foreach (var (field, bytes) in hash.Fields)
            writer.WriteBulkString(keys ? field : bytes);
    }
}

using Estoraje.Resp;
using Estoraje.Server.Network;
using Estoraje.Storage;
using Estoraje.Storage.Collections;

namespace Estoraje.Server.Commands;

/// <summary>
/// ZADD, ZSCORE, ZPOPMIN and the rest of the sorted set family that works on members; ranges are in
/// <see cref="SortedSetRangeCommands"/>, unions and intersections in <see cref="SortedSetAlgebraCommands"/>. A sorted
/// set is one stored value (<see cref="SortedSetValue"/>).
/// </summary>
internal static class SortedSetCommands
{
    public static void ZAdd(ClientSession client, RespRequest request) => Add(client, request, incr: false);

    public static void ZIncrBy(ClientSession client, RespRequest request) => Add(client, request, incr: true);

    public static void ZRem(ClientSession client, RespRequest request) =>
        Values.Change(client, request, ValueKind.SortedSet, static (client, request, value, found) =>
        {
            var removed = 0;
            if (found)
            {
                var set = SortedSetValue.Decode(value.Bytes);
                for (var i = 2; i < request.Count; i++)
                {
                    if (set.Remove(request[i]))
                        removed++;
                }

                if (removed > 0)
                    Values.Save(client.Store, request[1], ValueKind.SortedSet, set.Count, set.Encode, value.ExpiresAt);
            }

            client.Writer.WriteInteger(removed);
        });

    public static void ZScore(ClientSession client, RespRequest request)
    {
        if (!Values.TryRead(client, request[1], ValueKind.SortedSet, out var value, out var found))
            return;
        if (found && SortedSetValue.TryFindScore(value.Bytes, request[2], out var score))
            client.Writer.WriteDouble(score);
        else
            client.Writer.WriteNull();
    }

    public static void ZMScore(ClientSession client, RespRequest request)
    {
        if (!Values.TryRead(client, request[1], ValueKind.SortedSet, out var value, out var found))
            return;
        var set = found ? SortedSetValue.Decode(value.Bytes) : null;
        var writer = client.Writer;
        writer.WriteArrayHeader(request.Count - 2);
        for (var i = 2; i < request.Count; i++)
        {
            if (set is not null && set.TryGetScore(request[i], out var score))
                writer.WriteDouble(score);
            else
                writer.WriteNull();
        }
    }

    public static void ZCard(ClientSession client, RespRequest request)
    {
        if (Values.TryRead(client, request[1], ValueKind.SortedSet, out var value, out var found))
            client.Writer.WriteInteger(found ? Values.CountOf(value) : 0);
    }

    public static void ZCount(ClientSession client, RespRequest request)
    {
        if (!SortedSetRanges.TryParseScoreRange(client, request[2], request[3], out var range) ||
            !Values.TryRead(client, request[1], ValueKind.SortedSet, out var value, out var found))
            return;
        var (start, end) = found ? SortedSetValue.Decode(value.Bytes).Find(range) : (0, 0);
        client.Writer.WriteInteger(end - start);
    }

    public static void ZLexCount(ClientSession client, RespRequest request)
    {
        if (!SortedSetRanges.TryParseLexRange(client, request[2], request[3], out var range) ||
            !Values.TryRead(client, request[1], ValueKind.SortedSet, out var value, out var found))
            return;
        var (start, end) = found ? SortedSetValue.Decode(value.Bytes).Find(range) : (0, 0);
        client.Writer.WriteInteger(end - start);
    }

    public static void ZRank(ClientSession client, RespRequest request) => Rank(client, request, reverse: false);

    public static void ZRevRank(ClientSession client, RespRequest request) => Rank(client, request, reverse: true);

    public static void ZPopMin(ClientSession client, RespRequest request) => Pop(client, request, max: false);

    public static void ZPopMax(ClientSession client, RespRequest request) => Pop(client, request, max: true);

    public static void ZRandMember(ClientSession client, RespRequest request)
    {
        var writer = client.Writer;
        long count = 0;
        var withScores = false;
        if (request.Count > 2)
        {
            if (!RespInteger.TryParse(request[2], out count))
            {
                writer.WriteError(Errors.NotInteger);
                return;
            }

            if (count == long.MinValue)
            {
                writer.WriteError(Errors.NotLongMagnitude);
                return;
            }

            if (request.Count > 4 || (request.Count == 4 && !request.Is(3, "WITHSCORES"u8)))
            {
                writer.WriteError(Errors.Syntax);
                return;
            }

            withScores = request.Count == 4;
            if (!Values.TryCheckRandomCount(client, count, withScores))
                return;
        }

        if (!Values.TryRead(client, request[1], ValueKind.SortedSet, out var value, out var found))
            return;
        if (request.Count == 2)
        {
            if (found)
            {
                var all = SortedSetValue.Decode(value.Bytes).Ordered;
                writer.WriteBulkString(all[Random.Shared.Next(all.Count)].Member);
            }
            else
            {
                writer.WriteNull();
            }

            return;
        }

        if (!found || count == 0)
        {
            writer.WriteArrayHeader(0);
            return;
        }

        // Redis walks a sorted set from its highest element when it returns all of it (a count past its size).
        var elements = SortedSetValue.Decode(value.Bytes).Ordered.Reverse().ToArray();
        WriteScored(writer, HashCommands.RandomPick(elements, count), withScores);
    }

    public static void ZScan(ClientSession client, RespRequest request)
    {
        if (!Values.TryStartScan(client, request, ValueKind.SortedSet, allowNoValues: false, out var options, out var value))
            return;
        var page = new List<ScoredMember>();
        var next = CollectionScan.Step(SortedSetValue.Decode(value.Bytes).Ordered, static element => element.Member, options.Cursor, options.Count, page);
        page.RemoveAll(element => !options.Matches(element.Member));

        // Redis replies ZSCAN scores as bulk strings in RESP3 too (the scan reply copies them as text).
        Values.WriteScanReply(client, next, page.Count * 2, writer =>
        {
            Span<byte> text = stackalloc byte[32];
            foreach (var element in page)
            {
                writer.WriteBulkString(element.Member);
                writer.WriteBulkString(text[..RespWriter.FormatDouble(element.Score, text)]);
            }
        });
    }

    /// <summary>
    /// The score a stored set keeps: -0 becomes 0, as in Redis's compact (listpack) sorted sets, where every set of up
    /// to 128 members lives; a reply computed before storing (ZINCRBY) still shows -0, as Redis's does.
    /// </summary>
    internal static double Stored(double score) => score == 0 ? 0.0 : score;

    /// <summary>
    /// Writes members, with their scores when asked, as Redis replies ZRANGE ... WITHSCORES: one flat array in RESP2,
    /// an array of [member, score] pairs in RESP3.
    /// </summary>
    internal static void WriteScored(RespWriter writer, IReadOnlyList<ScoredMember> elements, bool withScores)
    {
        var nested = withScores && writer.IsResp3;
        writer.WriteArrayHeader(withScores && !nested ? elements.Count * 2 : elements.Count);
        foreach (var element in elements)
        {
            if (nested)
                writer.WriteArrayHeader(2);
            writer.WriteBulkString(element.Member);
            if (withScores)
                writer.WriteDouble(element.Score);
        }
    }

    // ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...], and ZINCRBY key increment member (ZADD
    // INCR with one pair): every score is read before anything changes, so a bad one changes nothing.
    private static void Add(ClientSession client, RespRequest request, bool incr)
    {
        var writer = client.Writer;
        bool nx = false, xx = false, gt = false, lt = false, ch = false;
        var first = 2;
        for (; first < request.Count; first++)
        {
            if (request.Is(first, "NX"u8))
                nx = true;
            else if (request.Is(first, "XX"u8))
                xx = true;
            else if (request.Is(first, "CH"u8))
                ch = true;
            else if (request.Is(first, "INCR"u8))
                incr = true;
            else if (request.Is(first, "GT"u8))
                gt = true;
            else if (request.Is(first, "LT"u8))
                lt = true;
            else
                break;
        }

        var pairs = request.Count - first;
        if (pairs == 0 || pairs % 2 != 0)
        {
            writer.WriteError(Errors.Syntax);
            return;
        }

        pairs /= 2;
        if (nx && xx)
        {
            writer.WriteError("ERR XX and NX options at the same time are not compatible");
            return;
        }

        if ((gt && nx) || (lt && nx) || (gt && lt))
        {
            writer.WriteError("ERR GT, LT, and/or NX options at the same time are not compatible");
            return;
        }

        if (incr && pairs > 1)
        {
            writer.WriteError("ERR INCR option supports a single increment-element pair");
            return;
        }

        var scores = new double[pairs];
        for (var j = 0; j < pairs; j++)
        {
            if (!Numbers.TryParseScore(request[first + (2 * j)], out scores[j]))
            {
                writer.WriteError(Errors.NotFloat);
                return;
            }
        }

        var store = client.Store;
        var key = request[1];
        int added = 0, updated = 0, processed = 0;
        double result = 0;
        using (store.Lock(key))
        {
            if (!Values.TryRead(client, key, ValueKind.SortedSet, out var value, out var found))
                return;
            var set = found ? SortedSetValue.Decode(value.Bytes) : new SortedSetValue(pairs);
            for (var j = 0; j < pairs; j++)
            {
                var member = request[first + (2 * j) + 1];
                var score = scores[j];
                if (set.TryGetScore(member, out var current))
                {
                    if (nx)
                        continue;
                    if (incr)
                    {
                        score += current;
                        if (double.IsNaN(score))
                        {
                            writer.WriteError("ERR resulting score is not a number (NaN)");
                            return;
                        }
                    }

                    if ((lt && score >= current) || (gt && score <= current))
                        continue;
                    processed++;
                    result = score;
                    if (score != current)
                    {
                        set.Set(member, Stored(score));
                        updated++;
                    }
                }
                else if (!xx)
                {
                    set.Set(member, Stored(score));
                    added++;
                    processed++;
                    result = score;
                }
            }

            if (added + updated > 0)
                Values.Save(store, key, ValueKind.SortedSet, set.Count, set.Encode, found ? value.ExpiresAt : 0);
        }

        if (!incr)
            writer.WriteInteger(ch ? added + updated : added);
        else if (processed > 0)
            writer.WriteDouble(result);
        else
            writer.WriteNull();
    }

    // ZRANK / ZREVRANK key member [WITHSCORE]
    private static void Rank(ClientSession client, RespRequest request, bool reverse)
    {
        var writer = client.Writer;
        if (request.Count > 4)
        {
            writer.WriteError(Errors.WrongArity(reverse ? "zrevrank" : "zrank"));
            return;
        }

        var withScore = request.Count == 4;
        if (withScore && !request.Is(3, "WITHSCORE"u8))
        {
            writer.WriteError(Errors.Syntax);
            return;
        }

        if (!Values.TryRead(client, request[1], ValueKind.SortedSet, out var value, out var found))
            return;
        var set = found ? SortedSetValue.Decode(value.Bytes) : null;
        var rank = set?.RankOf(request[2]) ?? -1;
        if (rank < 0)
        {
            if (withScore)
                writer.WriteNullArray();
            else
                writer.WriteNull();
            return;
        }

        if (withScore)
            writer.WriteArrayHeader(2);
        writer.WriteInteger(reverse ? set!.Count - 1 - rank : rank);
        if (withScore)
            writer.WriteDouble(set!.Ordered[rank].Score);
    }

    // ZPOPMIN / ZPOPMAX key [count]
    private static void Pop(ClientSession client, RespRequest request, bool max)
    {
        var writer = client.Writer;
        if (request.Count > 3)
        {
            writer.WriteError(Errors.Syntax);
            return;
        }

        long count = 1;
        if (request.Count == 3)
        {
            // Redis's getPositiveLongFromObjectOrReply gives the one error for text and for a negative count.
            if (!RespInteger.TryParse(request[2], out count) || count < 0)
            {
                writer.WriteError("ERR value is out of range, must be positive");
                return;
            }
        }

        var store = client.Store;
        var key = request[1];
        using (store.Lock(key))
        {
            if (!Values.TryRead(client, key, ValueKind.SortedSet, out var value, out var found))
                return;
            if (!found || count == 0)
            {
                writer.WriteArrayHeader(0);
                return;
            }

            var set = SortedSetValue.Decode(value.Bytes);
            var taken = (int)Math.Min(count, set.Count);
            var start = max ? set.Count - taken : 0;
            var popped = new List<ScoredMember>(taken);
            for (var i = 0; i < taken; i++)
                popped.Add(set.Ordered[max ? set.Count - 1 - i : i]);
            set.RemoveRange(start, taken);
            Values.Save(store, key, ValueKind.SortedSet, set.Count, set.Encode, value.ExpiresAt);

            // Without a count the reply is one flat pair, in RESP3 too; with one, RESP3 nests each pair.
            if (request.Count == 2)
            {
                writer.WriteArrayHeader(2);
                writer.WriteBulkString(popped[0].Member);
                writer.WriteDouble(popped[0].Score);
            }
            else
            {
                WriteScored(writer, popped, withScores: true);
            }
        }
    }
}

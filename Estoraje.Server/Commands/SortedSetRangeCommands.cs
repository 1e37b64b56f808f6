using Estoraje.Resp;
using Estoraje.Server.Network;
using Estoraje.Storage;
using Estoraje.Storage.Collections;

namespace Estoraje.Server.Commands;

/// <summary>
/// ZRANGE (by rank, BYSCORE, BYLEX, REV, LIMIT), its older forms ZREVRANGE, Z[REV]RANGEBYSCORE and Z[REV]RANGEBYLEX,
/// ZRANGESTORE, and the ZREMRANGEBY* commands: one parser and one selection, as Redis shares them.
/// </summary>
internal static class SortedSetRangeCommands
{
    private enum RangeKind
    {
        Auto,
        Rank,
        Score,
        Lex,
    }

    public static void ZRange(ClientSession client, RespRequest request) => Range(client, request, 1, store: false, RangeKind.Auto, reverse: null);

    public static void ZRangeStore(ClientSession client, RespRequest request) => Range(client, request, 2, store: true, RangeKind.Auto, reverse: null);

    public static void ZRevRange(ClientSession client, RespRequest request) => Range(client, request, 1, store: false, RangeKind.Rank, reverse: true);

    public static void ZRangeByScore(ClientSession client, RespRequest request) => Range(client, request, 1, store: false, RangeKind.Score, reverse: false);

    public static void ZRevRangeByScore(ClientSession client, RespRequest request) => Range(client, request, 1, store: false, RangeKind.Score, reverse: true);

    public static void ZRangeByLex(ClientSession client, RespRequest request) => Range(client, request, 1, store: false, RangeKind.Lex, reverse: false);

    public static void ZRevRangeByLex(ClientSession client, RespRequest request) => Range(client, request, 1, store: false, RangeKind.Lex, reverse: true);

    public static void ZRemRangeByRank(ClientSession client, RespRequest request)
    {
        if (!RespInteger.TryParse(request[2], out var start) || !RespInteger.TryParse(request[3], out var stop))
        {
            client.Writer.WriteError(Errors.NotInteger);
            return;
        }

        RemoveRange(client, request, set => ClampRanks(set.Count, start, stop));
    }

    public static void ZRemRangeByScore(ClientSession client, RespRequest request)
    {
        if (SortedSetRanges.TryParseScoreRange(client, request[2], request[3], out var range))
            RemoveRange(client, request, set => set.Find(range));
    }

    public static void ZRemRangeByLex(ClientSession client, RespRequest request)
    {
        if (SortedSetRanges.TryParseLexRange(client, request[2], request[3], out var range))
            RemoveRange(client, request, set => set.Find(range));
    }

    // <src> <min> <max> [BYSCORE|BYLEX] [REV] [WITHSCORES] [LIMIT offset count] from `source` on, as Redis's
    // zrangeGenericCommand checks them: options, then conflicts, then the range, then the key.
    private static void Range(ClientSession client, RespRequest request, int source, bool store, RangeKind kind, bool? reverse)
    {
        var writer = client.Writer;
        var withScores = false;
        long offset = 0, limit = -1;
        for (var i = source + 3; i < request.Count; i++)
        {
            if (!store && request.Is(i, "WITHSCORES"u8))
            {
                withScores = true;
            }
            else if (request.Is(i, "LIMIT"u8) && request.Count - i - 1 >= 2)
            {
                if (!RespInteger.TryParse(request[i + 1], out offset) || !RespInteger.TryParse(request[i + 2], out limit))
                {
                    writer.WriteError(Errors.NotInteger);
                    return;
                }

                i += 2;
            }
            else if (reverse is null && request.Is(i, "REV"u8))
            {
                reverse = true;
            }
            else if (kind == RangeKind.Auto && request.Is(i, "BYLEX"u8))
            {
                kind = RangeKind.Lex;
            }
            else if (kind == RangeKind.Auto && request.Is(i, "BYSCORE"u8))
            {
                kind = RangeKind.Score;
            }
            else
            {
                writer.WriteError(Errors.Syntax);
                return;
            }
        }

        var backwards = reverse ?? false;
        if (kind == RangeKind.Auto)
            kind = RangeKind.Rank;
        // Redis tells a LIMIT apart by its count: "LIMIT 0 -1" is no limit at all, by rank too.
        if (limit != -1 && kind == RangeKind.Rank)
        {
            writer.WriteError("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
            return;
        }

        if (withScores && kind == RangeKind.Lex)
        {
            writer.WriteError("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
            return;
        }

        // Reversed score and lex ranges are given max first.
        var (min, max) = backwards && kind != RangeKind.Rank ? (source + 2, source + 1) : (source + 1, source + 2);
        long start = 0, stop = 0;
        ScoreRange scores = default;
        LexRange lex = default;
        if (kind == RangeKind.Rank)
        {
            if (!RespInteger.TryParse(request[min], out start) || !RespInteger.TryParse(request[max], out stop))
            {
                writer.WriteError(Errors.NotInteger);
                return;
            }
        }
        else if (kind == RangeKind.Score ? !SortedSetRanges.TryParseScoreRange(client, request[min], request[max], out scores)
                     : !SortedSetRanges.TryParseLexRange(client, request[min], request[max], out lex))
        {
            return;
        }

        var selected = new List<ScoredMember>();
        var storeLock = store ? client.Store.Lock(client.Store.ShardMask(request[1]) | client.Store.ShardMask(request[source])) : default;
        using (storeLock)
        {
            if (!Values.TryRead(client, request[source], ValueKind.SortedSet, out var value, out var found))
                return;
            if (found)
            {
                var set = SortedSetValue.Decode(value.Bytes);
                var (first, end) = kind switch
                {
                    RangeKind.Rank => ClampRanks(set.Count, start, stop),
                    RangeKind.Score => set.Find(scores),
                    _ => set.Find(lex),
                };
                // Reversed ranks count from the highest element.
                if (kind == RangeKind.Rank)
                    Select(set, backwards ? set.Count - end : first, backwards ? set.Count - first : end, backwards, 0, -1, selected);
                else if (offset >= 0 && (offset == 0 || offset < set.Count))
                    Select(set, first, end, backwards, offset, limit, selected);
            }

            if (store)
            {
                var result = SortedSetValue.Create(selected.Select(static e => e with { Score = SortedSetCommands.Stored(e.Score) }));
                Values.Save(client.Store, request[1], ValueKind.SortedSet, result.Count, result.Encode, 0);
                writer.WriteInteger(result.Count);
                return;
            }
        }

        SortedSetCommands.WriteScored(writer, selected, withScores);
    }

    // The ranks [first, end) walked forwards or backwards, skipping `offset` of them and taking at most `limit`
    // (negative: all).
    private static void Select(SortedSetValue set, int first, int end, bool backwards, long offset, long limit, List<ScoredMember> selected)
    {
        var available = end - first - offset;
        var take = limit < 0 ? available : Math.Min(available, limit);
        for (long i = 0; i < take; i++)
        {
            var rank = backwards ? end - 1 - offset - i : first + offset + i;
            selected.Add(set.Ordered[(int)rank]);
        }
    }

    // Redis's rank range: negative ranks count from the end, and the range is clamped to the set.
    private static (int Start, int End) ClampRanks(int count, long start, long stop)
    {
        if (start < 0)
            start += count;
        if (stop < 0)
            stop += count;
        if (start < 0)
            start = 0;
        if (start > stop || start >= count)
            return (0, 0);
        if (stop >= count)
            stop = count - 1;
        return ((int)start, (int)stop + 1);
    }

    private static void RemoveRange(ClientSession client, RespRequest request, Func<SortedSetValue, (int Start, int End)> find) =>
        Values.Change(client, request, ValueKind.SortedSet, (client, request, value, found) =>
        {
            var removed = 0;
            if (found)
            {
                var set = SortedSetValue.Decode(value.Bytes);
                var (start, end) = find(set);
                removed = end - start;
                if (removed > 0)
                {
                    set.RemoveRange(start, removed);
                    Values.Save(client.Store, request[1], ValueKind.SortedSet, set.Count, set.Encode, value.ExpiresAt);
                }
            }

            client.Writer.WriteInteger(removed);
        });
}

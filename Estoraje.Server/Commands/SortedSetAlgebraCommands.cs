using Estoraje.Resp;
using Estoraje.Server.Network;
using Estoraje.Storage;
using Estoraje.Storage.Collections;

namespace Estoraje.Server.Commands;

/// <summary>
/// ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD: sorted sets (and sets, whose members score 1) combined
/// with WEIGHTS and AGGREGATE as Redis's zunionInterDiffGenericCommand does. Their keys follow a numkeys argument
/// (<see cref="CommandDefinition.NumKeysIndex"/>), so in a cluster they must share one slot.
/// </summary>
internal static class SortedSetAlgebraCommands
{
    private enum Operation
    {
        Union,
        Inter,
        Diff,
    }

    private enum Aggregate
    {
        Sum,
        Min,
        Max,
    }

    public static void ZUnion(ClientSession client, RespRequest request) => Combine(client, request, Operation.Union, store: false, cardinality: false);

    public static void ZInter(ClientSession client, RespRequest request) => Combine(client, request, Operation.Inter, store: false, cardinality: false);

    public static void ZDiff(ClientSession client, RespRequest request) => Combine(client, request, Operation.Diff, store: false, cardinality: false);

    public static void ZUnionStore(ClientSession client, RespRequest request) => Combine(client, request, Operation.Union, store: true, cardinality: false);

    public static void ZInterStore(ClientSession client, RespRequest request) => Combine(client, request, Operation.Inter, store: true, cardinality: false);

    public static void ZDiffStore(ClientSession client, RespRequest request) => Combine(client, request, Operation.Diff, store: true, cardinality: false);

    public static void ZInterCard(ClientSession client, RespRequest request) => Combine(client, request, Operation.Inter, store: false, cardinality: true);

    private static void Combine(ClientSession client, RespRequest request, Operation operation, bool store, bool cardinality)
    {
        var writer = client.Writer;
        var numKeysIndex = store ? 2 : 1;
        if (!RespInteger.TryParse(request[numKeysIndex], out var count))
        {
            writer.WriteError(Errors.NotInteger);
            return;
        }

        if (count < 1)
        {
            writer.WriteError($"ERR at least 1 input key is needed for '{client.LastCommand}' command");
            return;
        }

        if (count > request.Count - numKeysIndex - 1)
        {
            writer.WriteError(Errors.Syntax);
            return;
        }

        var sources = new Source[count];
        var storage = client.Store;
        var mask = store ? storage.ShardMask(request[1]) : 0;
        for (var i = 0; i < count; i++)
            mask |= storage.ShardMask(request[numKeysIndex + 1 + i]);
        using (storage.Lock(mask))
        {
            for (var i = 0; i < count; i++)
            {
                if (!TryReadSource(client, request[numKeysIndex + 1 + i], out sources[i]))
                    return;
            }

            if (!TryParseOptions(client, request, numKeysIndex + 1 + (int)count, operation, store, cardinality, sources, out var aggregate, out var withScores, out var limit))
                return;

            if (cardinality)
            {
                writer.WriteInteger(InterCard(sources, limit));
                return;
            }

            var result = operation switch
            {
                Operation.Union => Union(sources, aggregate),
                Operation.Inter => Inter(sources, aggregate),
                _ => Diff(sources),
            };
            if (store)
            {
                // The destination is replaced whatever it held, its TTL dropped; an empty result deletes it.
                result = SortedSetValue.Create(result.Ordered.Select(static e => e with { Score = SortedSetCommands.Stored(e.Score) }));
                Values.Save(storage, request[1], ValueKind.SortedSet, result.Count, result.Encode, 0);
                writer.WriteInteger(result.Count);
                return;
            }

            SortedSetCommands.WriteScored(writer, result.Ordered, withScores);
        }
    }

    // A sorted set or a set (members score 1); a missing key is empty. Anything else: WRONGTYPE.
    private static bool TryReadSource(ClientSession client, ReadOnlySpan<byte> key, out Source source)
    {
        source = new Source(null, 1);
        if (!client.Store.TryGet(key, out var value, touch: !client.NoTouch))
        {
            client.Counters.KeyspaceMisses++;
            return true;
        }

        client.Counters.KeyspaceHits++;
        if (value.Kind == ValueKind.SortedSet)
        {
            source = new Source(SortedSetValue.Decode(value.Bytes), 1);
            return true;
        }

        if (value.Kind == ValueKind.Set)
        {
            source = new Source(SetMembers(value.Bytes), 1);
            return true;
        }

        client.Writer.WriteError(Errors.WrongType);
        return false;
    }

    // A set's encoding is its members' byte strings (CollectionEncoding); as a sorted set each scores 1.
    private static SortedSetValue SetMembers(ReadOnlySpan<byte> encoded)
    {
        if (!CollectionEncoding.TryReadHeader(encoded, out var count, out var offset))
            throw CollectionEncoding.Corrupt("set");
        var members = new List<ScoredMember>(Math.Min(count, encoded.Length));
        for (var i = 0; i < count; i++)
        {
            if (!CollectionEncoding.TryReadBytes(encoded, ref offset, out var member))
                throw CollectionEncoding.Corrupt("set");
            members.Add(new ScoredMember(member.ToArray(), 1));
        }

        return SortedSetValue.Create(members);
    }

    private static bool TryParseOptions(ClientSession client, RespRequest request, int from, Operation operation, bool store, bool cardinality,
        Source[] sources, out Aggregate aggregate, out bool withScores, out long limit)
    {
        var writer = client.Writer;
        aggregate = Aggregate.Sum;
        withScores = false;
        limit = 0;
        var algebra = operation != Operation.Diff && !cardinality;
        for (var i = from; i < request.Count;)
        {
            var remaining = request.Count - i;
            if (algebra && remaining >= sources.Length + 1 && request.Is(i, "WEIGHTS"u8))
            {
                for (var j = 0; j < sources.Length; j++)
                {
                    if (!Numbers.TryParseScore(request[i + 1 + j], out var weight))
                    {
                        writer.WriteError("ERR weight value is not a float");
                        return false;
                    }

                    sources[j] = sources[j] with { Weight = weight };
                }

                i += sources.Length + 1;
            }
            else if (algebra && remaining >= 2 && request.Is(i, "AGGREGATE"u8))
            {
                if (request.Is(i + 1, "SUM"u8))
                    aggregate = Aggregate.Sum;
                else if (request.Is(i + 1, "MIN"u8))
                    aggregate = Aggregate.Min;
                else if (request.Is(i + 1, "MAX"u8))
                    aggregate = Aggregate.Max;
                else
                {
                    writer.WriteError(Errors.Syntax);
                    return false;
                }

                i += 2;
            }
            else if (!store && !cardinality && request.Is(i, "WITHSCORES"u8))
            {
                withScores = true;
                i++;
            }
            else if (cardinality && remaining >= 2 && request.Is(i, "LIMIT"u8))
            {
                if (!RespInteger.TryParse(request[i + 1], out limit) || limit < 0)
                {
                    writer.WriteError("ERR LIMIT can't be negative");
                    return false;
                }

                i += 2;
            }
            else
            {
                writer.WriteError(Errors.Syntax);
                return false;
            }
        }

        return true;
    }

    // Inputs from the smallest on, as Redis sorts them (its sort keeps equal sizes in order); the order decides
    // which sums meet first, and so where +inf and -inf cancel.
    private static Source[] BySize(Source[] sources) => [.. sources.OrderBy(static s => s.Count)];

    private static SortedSetValue Union(Source[] sources, Aggregate aggregate)
    {
        var scores = new Dictionary<byte[], double>(ByteArrayComparer.Instance);
        foreach (var source in BySize(sources))
        {
            if (source.Set is null)
                continue;
            foreach (var element in source.Set.Ordered)
            {
                var score = Weighted(source.Weight, element.Score);
                scores[element.Member] = scores.TryGetValue(element.Member, out var existing) ? Combine(existing, score, aggregate) : score;
            }
        }

        return SortedSetValue.Create(scores.Select(static pair => new ScoredMember(pair.Key, pair.Value)));
    }

    private static SortedSetValue Inter(Source[] sources, Aggregate aggregate)
    {
        var ordered = BySize(sources);
        var result = new List<ScoredMember>();
        if (ordered[0].Set is not { } smallest)
            return SortedSetValue.Create(result);
        foreach (var element in smallest.Ordered)
        {
            var score = Weighted(ordered[0].Weight, element.Score);
            var everywhere = true;
            for (var j = 1; j < ordered.Length && everywhere; j++)
            {
                if (ordered[j].Set is { } other && other.TryGetScore(element.Member, out var value))
                    score = Combine(score, value * ordered[j].Weight, aggregate);
                else
                    everywhere = false;
            }

            if (everywhere)
                result.Add(new ScoredMember(element.Member, score));
        }

        return SortedSetValue.Create(result);
    }

    private static SortedSetValue Diff(Source[] sources)
    {
        var result = new List<ScoredMember>();
        if (sources[0].Set is not { } first)
            return SortedSetValue.Create(result);
        foreach (var element in first.Ordered)
        {
            var elsewhere = false;
            for (var j = 1; j < sources.Length && !elsewhere; j++)
                elsewhere = sources[j].Set?.TryGetScore(element.Member, out _) == true;
            if (!elsewhere)
                result.Add(element);
        }

        return SortedSetValue.Create(result);
    }

    private static long InterCard(Source[] sources, long limit)
    {
        var ordered = BySize(sources);
        if (ordered[0].Set is not { } smallest)
            return 0;
        long found = 0;
        foreach (var element in smallest.Ordered)
        {
            var everywhere = true;
            for (var j = 1; j < ordered.Length && everywhere; j++)
                everywhere = ordered[j].Set?.TryGetScore(element.Member, out _) == true;
            if (everywhere && ++found == limit)
                break;
        }

        return found;
    }

    // Redis turns a NaN product (0 × ±inf) into 0, and a sum of +inf and -inf too.
    private static double Weighted(double weight, double score) => weight * score is var product && double.IsNaN(product) ? 0 : product;

    private static double Combine(double current, double value, Aggregate aggregate) => aggregate switch
    {
        Aggregate.Sum => current + value is var sum && double.IsNaN(sum) ? 0 : sum,
        Aggregate.Min => value < current ? value : current,
        _ => value > current ? value : current,
    };

    private readonly record struct Source(SortedSetValue? Set, double Weight)
    {
        public int Count => Set?.Count ?? 0;
    }
}

namespace Estoraje.Storage.Collections;

/// <summary>One member of a sorted set with its score.</summary>
public readonly record struct ScoredMember(byte[] Member, double Score);

/// <summary>
/// A Redis sorted set decoded from its stored encoding (<see cref="CollectionEncoding"/>: count, then each member's
/// byte string followed by its score), kept in Redis's order: by score, ties by member bytes (memcmp, the shorter
/// first). The encoding is written in that order, so decoding never sorts; it checks the order instead and refuses
/// bytes that break it. Commands decode, change and re-encode the whole set (one record per key), like
/// <see cref="HashValue"/>; a member is found by a dictionary, an element by its rank in a sorted list.
/// </summary>
public sealed class SortedSetValue
{
    private readonly List<ScoredMember> _ordered;
    private readonly Dictionary<byte[], double> _scores;
    private readonly Dictionary<byte[], double>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    /// <summary>An empty sorted set.</summary>
    public SortedSetValue(int capacity = 0)
    {
        _ordered = new List<ScoredMember>(capacity);
        _scores = new Dictionary<byte[], double>(capacity, ByteArrayComparer.Instance);
        _lookup = _scores.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <summary>Members held.</summary>
    public int Count => _ordered.Count;

    /// <summary>The members in Redis's order (rank 0 first).</summary>
    public IReadOnlyList<ScoredMember> Ordered => _ordered;

    /// <summary>Decodes a stored sorted set.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a sorted set's encoding: truncated, a NaN score, a member twice, or out of order.</exception>
    public static SortedSetValue Decode(ReadOnlySpan<byte> encoded)
    {
        if (!CollectionEncoding.TryReadHeader(encoded, out var count, out var offset))
            throw CollectionEncoding.Corrupt("sorted set");
        // Each element takes at least 9 bytes: a count larger than that cannot be honest.
        var set = new SortedSetValue(Math.Min(count, encoded.Length / 9));
        for (var i = 0; i < count; i++)
        {
            if (!CollectionEncoding.TryReadBytes(encoded, ref offset, out var member) ||
                !CollectionEncoding.TryReadScore(encoded, ref offset, out var score) || double.IsNaN(score))
                throw CollectionEncoding.Corrupt("sorted set");
            var bytes = member.ToArray();
            if ((set._ordered.Count > 0 && Compare(set._ordered[^1], score, bytes) >= 0) || !set._scores.TryAdd(bytes, score))
                throw CollectionEncoding.Corrupt("sorted set");
            set._ordered.Add(new ScoredMember(bytes, score));
        }

        if (offset != encoded.Length)
            throw CollectionEncoding.Corrupt("sorted set");
        return set;
    }

    /// <summary>A sorted set of distinct members given in any order (ZUNIONSTORE and the like): sorted once.</summary>
    /// <exception cref="ArgumentException">A score is NaN or a member comes twice.</exception>
    public static SortedSetValue Create(IEnumerable<ScoredMember> elements)
    {
        var set = new SortedSetValue();
        foreach (var element in elements)
        {
            if (double.IsNaN(element.Score) || !set._scores.TryAdd(element.Member, element.Score))
                throw new ArgumentException("Sorted set members must be distinct, with scores that are numbers.", nameof(elements));
            set._ordered.Add(element);
        }

        set._ordered.Sort(static (x, y) => Compare(x, y.Score, y.Member));
        return set;
    }

    /// <summary>
    /// Finds one member's score in a stored sorted set without decoding the rest (ZSCORE): a linear walk, no
    /// allocation.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a sorted set's encoding.</exception>
    public static bool TryFindScore(ReadOnlySpan<byte> encoded, ReadOnlySpan<byte> member, out double score)
    {
        score = 0;
        if (!CollectionEncoding.TryReadHeader(encoded, out var count, out var offset))
            throw CollectionEncoding.Corrupt("sorted set");
        for (var i = 0; i < count; i++)
        {
            if (!CollectionEncoding.TryReadBytes(encoded, ref offset, out var name) ||
                !CollectionEncoding.TryReadScore(encoded, ref offset, out var value))
                throw CollectionEncoding.Corrupt("sorted set");
            if (name.SequenceEqual(member))
            {
                score = value;
                return true;
            }
        }

        return false;
    }

    /// <summary>Redis's order of two elements: by score (-0 and 0 equal), then by member bytes.</summary>
    public static int Compare(in ScoredMember x, double score, ReadOnlySpan<byte> member)
    {
        if (x.Score < score)
            return -1;
        if (x.Score > score)
            return 1;
        return ByteArrayComparer.CompareOrdinal(x.Member, member);
    }

    /// <summary>The score of <paramref name="member"/>, if the set has it.</summary>
    public bool TryGetScore(ReadOnlySpan<byte> member, out double score) => _lookup.TryGetValue(member, out score);

    /// <summary>
    /// Adds <paramref name="member"/> or moves it to <paramref name="score"/>; true when it is new. A score equal to
    /// the current one (0 and -0 included) changes nothing, as in Redis.
    /// </summary>
    /// <exception cref="ArgumentException">The score is NaN, which has no place in the order.</exception>
    public bool Set(ReadOnlySpan<byte> member, double score)
    {
        if (double.IsNaN(score))
            throw new ArgumentException("A sorted set score cannot be NaN.", nameof(score));
        if (_lookup.TryGetValue(member, out var current))
        {
            if (current == score)
                return false;
            var at = IndexOf(current, member);
            var bytes = _ordered[at].Member;
            _ordered.RemoveAt(at);
            _scores[bytes] = score;
            _ordered.Insert(~IndexOf(score, bytes), new ScoredMember(bytes, score));
            return false;
        }

        var added = member.ToArray();
        _scores[added] = score;
        _ordered.Insert(~IndexOf(score, added), new ScoredMember(added, score));
        return true;
    }

    /// <summary>Removes a member; false when the set did not have it.</summary>
    public bool Remove(ReadOnlySpan<byte> member)
    {
        if (!_lookup.TryGetValue(member, out var score))
            return false;
        _ordered.RemoveAt(IndexOf(score, member));
        _lookup.Remove(member);
        return true;
    }

    /// <summary>The 0-based rank of <paramref name="member"/> (lowest score first), -1 when the set does not have it.</summary>
    public int RankOf(ReadOnlySpan<byte> member) => _lookup.TryGetValue(member, out var score) ? IndexOf(score, member) : -1;

    /// <summary>Removes <paramref name="count"/> elements from rank <paramref name="start"/> on.</summary>
    public void RemoveRange(int start, int count)
    {
        for (var i = start; i < start + count; i++)
            _scores.Remove(_ordered[i].Member);
        _ordered.RemoveRange(start, count);
    }

    /// <summary>The ranks [start, end) of the elements whose score is within <paramref name="range"/>.</summary>
    public (int Start, int End) Find(in ScoreRange range)
    {
        if (range.IsEmpty)
            return (0, 0);
        var start = LowerBound(range.Min, range.MinExclusive);
        var end = LowerBound(range.Max, !range.MaxExclusive);
        return start < end ? (start, end) : (0, 0);
    }

    /// <summary>
    /// The ranks [start, end) of the elements within a lexicographic range, read as Redis reads it in a small set:
    /// from the first element at or past the minimum, while elements stay at or below the maximum. Meant for sets
    /// whose members share one score (Redis leaves other sets unspecified).
    /// </summary>
    public (int Start, int End) Find(in LexRange range)
    {
        if (range.IsEmpty || _ordered.Count == 0 || !range.AboveMin(_ordered[^1].Member) || !range.BelowMax(_ordered[0].Member))
            return (0, 0);
        var start = 0;
        while (start < _ordered.Count && !range.AboveMin(_ordered[start].Member))
            start++;
        var end = start;
        while (end < _ordered.Count && range.BelowMax(_ordered[end].Member))
            end++;
        return (start, end);
    }

    /// <summary>The stored encoding.</summary>
    public byte[] Encode()
    {
        long size = 0;
        foreach (var element in _ordered)
            size += CollectionEncoding.BytesSize(element.Member.Length) + 8;
        var writer = new CollectionEncoding.Writer(_ordered.Count, size);
        foreach (var element in _ordered)
        {
            writer.WriteBytes(element.Member);
            writer.WriteScore(element.Score);
        }

        return writer.ToArray();
    }

    // Binary search for (score, member): its index when present, else the complement of where it would go.
    private int IndexOf(double score, ReadOnlySpan<byte> member)
    {
        int low = 0, high = _ordered.Count - 1;
        while (low <= high)
        {
            var middle = low + ((high - low) >> 1);
            var order = Compare(_ordered[middle], score, member);
            if (order == 0)
                return middle;
            if (order < 0)
                low = middle + 1;
            else
                high = middle - 1;
        }

        return ~low;
    }

    // The first rank whose score is not below `bound` (is above it, when `strictlyAbove`).
    private int LowerBound(double bound, bool strictlyAbove)
    {
        int low = 0, high = _ordered.Count;
        while (low < high)
        {
            var middle = low + ((high - low) >> 1);
            var score = _ordered[middle].Score;
            if (score < bound || (strictlyAbove && score == bound))
                low = middle + 1;
            else
                high = middle;
        }

        return low;
    }
}

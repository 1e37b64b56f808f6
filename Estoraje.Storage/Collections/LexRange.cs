namespace Estoraje.Storage.Collections;

/// <summary>One end of a <see cref="LexRange"/>: a member (inclusive or exclusive), or the lowest or highest of all strings.</summary>
public readonly record struct LexBound(byte[] Value, bool Exclusive, int Infinity)
{
    /// <summary><c>-</c>: below every string.</summary>
    public static LexBound Lowest { get; } = new([], true, -1);

    /// <summary><c>+</c>: above every string.</summary>
    public static LexBound Highest { get; } = new([], true, 1);

    /// <summary>Orders a member against this bound (the infinities compare beyond every member).</summary>
    public int CompareMember(ReadOnlySpan<byte> member) =>
        Infinity != 0 ? -Infinity : ByteArrayComparer.CompareOrdinal(member, Value);
}

/// <summary>A lexicographic interval of ZRANGEBYLEX, ZLEXCOUNT and ZREMRANGEBYLEX (Redis's <c>[a (b - +</c> items).</summary>
public readonly record struct LexRange(LexBound Min, LexBound Max)
{
    /// <summary>Whether no member can be inside: min above max, or equal ends with one excluded.</summary>
    public bool IsEmpty
    {
        get
        {
            var order = CompareBounds(Min, Max);
            return order > 0 || (order == 0 && (Min.Exclusive || Max.Exclusive));
        }
    }

    /// <summary>Whether <paramref name="member"/> is at or past the minimum.</summary>
    public bool AboveMin(ReadOnlySpan<byte> member)
    {
        var order = Min.CompareMember(member);
        return Min.Exclusive ? order > 0 : order >= 0;
    }

    /// <summary>Whether <paramref name="member"/> is at or before the maximum.</summary>
    public bool BelowMax(ReadOnlySpan<byte> member)
    {
        var order = Max.CompareMember(member);
        return Max.Exclusive ? order < 0 : order <= 0;
    }

    // Redis's sdscmplex: the same infinity is equal to itself, -inf below and +inf above everything else.
    private static int CompareBounds(LexBound a, LexBound b)
    {
        if (a.Infinity != 0 || b.Infinity != 0)
            return a.Infinity == b.Infinity ? 0 : a.Infinity == -1 || b.Infinity == 1 ? -1 : 1;
        return ByteArrayComparer.CompareOrdinal(a.Value, b.Value);
    }
}

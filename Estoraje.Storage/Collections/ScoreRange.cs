namespace Estoraje.Storage.Collections;

/// <summary>A score interval of ZRANGEBYSCORE, ZCOUNT and the like: each end inclusive or exclusive, ±∞ allowed.</summary>
public readonly record struct ScoreRange(double Min, bool MinExclusive, double Max, bool MaxExclusive)
{
    /// <summary>Whether no score can be inside (Redis's early exit: min above max, or equal ends with one excluded).</summary>
    public bool IsEmpty => Min > Max || (Min == Max && (MinExclusive || MaxExclusive));

    /// <summary>Whether <paramref name="score"/> is inside.</summary>
    public bool Contains(double score) =>
        (MinExclusive ? score > Min : score >= Min) && (MaxExclusive ? score < Max : score <= Max);
}

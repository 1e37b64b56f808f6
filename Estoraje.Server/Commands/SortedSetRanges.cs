using Estoraje.Server.Network;
using Estoraje.Storage.Collections;

namespace Estoraje.Server.Commands;

/// <summary>Reads the score and lex intervals of the sorted set commands as Redis reads them, with its errors.</summary>
internal static class SortedSetRanges
{
    public const string NotFloatRange = "ERR min or max is not a float";
    public const string NotStringRange = "ERR min or max not valid string range item";

    /// <summary>Reads <c>min max</c> (each a float, <c>(</c> for an open end, ±inf allowed); false after writing the error.</summary>
    public static bool TryParseScoreRange(ClientSession client, ReadOnlySpan<byte> min, ReadOnlySpan<byte> max, out ScoreRange range)
    {
        range = default;
        if (!TryParseScoreBound(min, out var low, out var lowExclusive) || !TryParseScoreBound(max, out var high, out var highExclusive))
        {
            client.Writer.WriteError(NotFloatRange);
            return false;
        }

        range = new ScoreRange(low, lowExclusive, high, highExclusive);
        return true;
    }

    /// <summary>Reads <c>min max</c> (each <c>[member</c>, <c>(member</c>, <c>-</c> or <c>+</c>); false after writing the error.</summary>
    public static bool TryParseLexRange(ClientSession client, ReadOnlySpan<byte> min, ReadOnlySpan<byte> max, out LexRange range)
    {
        range = default;
        if (!TryParseLexBound(min, out var low) || !TryParseLexBound(max, out var high))
        {
            client.Writer.WriteError(NotStringRange);
            return false;
        }

        range = new LexRange(low, high);
        return true;
    }

    // Redis hands the argument to strtod as a C string: it ends at the first NUL byte, and an empty number is 0.
    private static bool TryParseScoreBound(ReadOnlySpan<byte> text, out double value, out bool exclusive)
    {
        var nul = text.IndexOf((byte)0);
        if (nul >= 0)
            text = text[..nul];
        exclusive = !text.IsEmpty && text[0] == (byte)'(';
        return Numbers.TryStrtod(exclusive ? text[1..] : text, out value, out _) && !double.IsNaN(value);
    }

    private static bool TryParseLexBound(ReadOnlySpan<byte> text, out LexBound bound)
    {
        bound = default;
        if (text.IsEmpty)
            return false;
        switch (text[0])
        {
            case (byte)'+' when text.Length == 1:
                bound = LexBound.Highest;
                return true;
            case (byte)'-' when text.Length == 1:
                bound = LexBound.Lowest;
                return true;
            case (byte)'(':
                bound = new LexBound(text[1..].ToArray(), true, 0);
                return true;
            case (byte)'[':
                bound = new LexBound(text[1..].ToArray(), false, 0);
                return true;
            default:
                return false;
        }
    }
}

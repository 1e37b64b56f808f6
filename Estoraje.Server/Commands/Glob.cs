namespace Estoraje.Server.Commands;

/// <summary>Redis's glob-style matching (stringmatchlen): <c>*</c>, <c>?</c>, <c>[a-z]</c>, <c>[^x]</c>, <c>\x</c>.</summary>
internal static class Glob
{
    public static bool IsMatch(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> text)
    {
        var skipLongerMatches = false;
        return Match(pattern, text, 0, ref skipLongerMatches);
    }

    // skipLongerMatches: once a '*' tried every suffix in vain, no outer '*' can succeed either (Redis's
    // guard against exponential time on patterns such as "*a*a*a*a*b").
    private static bool Match(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> text, int depth, ref bool skipLongerMatches)
    {
        // Bounded recursion, as Redis guards against patterns like "*a*a*a*...".
        if (depth > 1000)
            return false;
        while (pattern.Length > 0 && text.Length > 0)
        {
            switch (pattern[0])
            {
                case (byte)'*':
                    while (pattern.Length > 1 && pattern[1] == (byte)'*')
                        pattern = pattern[1..];
                    if (pattern.Length == 1)
                        return true;
                    for (var i = 0; i < text.Length; i++)
                    {
                        if (Match(pattern[1..], text[i..], depth + 1, ref skipLongerMatches))
                            return true;
                        if (skipLongerMatches)
                            return false;
                    }

                    skipLongerMatches = true;
                    return false;
                case (byte)'?':
                    text = text[1..];
                    break;
                case (byte)'[':
                {
                    pattern = pattern[1..];
                    var not = pattern.Length > 0 && pattern[0] == (byte)'^';
                    if (not)
                        pattern = pattern[1..];
                    var match = false;
                    while (true)
                    {
                        if (pattern.Length == 0)
                            break;
                        if (pattern[0] == (byte)'\\' && pattern.Length >= 2)
                        {
                            pattern = pattern[1..];
                            if (pattern[0] == text[0])
                                match = true;
                        }
                        else if (pattern[0] == (byte)']')
                        {
                            break;
                        }
                        else if (pattern.Length >= 3 && pattern[1] == (byte)'-')
                        {
                            int start = pattern[0], end = pattern[2];
                            if (start > end)
                                (start, end) = (end, start);
                            pattern = pattern[2..];
                            if (text[0] >= start && text[0] <= end)
                                match = true;
                        }
                        else if (pattern[0] == text[0])
                        {
                            match = true;
                        }

                        pattern = pattern[1..];
                    }

                    if (pattern.Length == 0)
                        pattern = " "u8; // An unterminated class: Redis steps back onto its last character.
                    if (not)
                        match = !match;
                    if (!match)
                        return false;
                    text = text[1..];
                    break;
                }

                case (byte)'\\':
                    if (pattern.Length >= 2)
                        pattern = pattern[1..];
                    goto default;
                default:
                    if (pattern[0] != text[0])
                        return false;
                    text = text[1..];
                    break;
            }

            pattern = pattern[1..];
            if (text.Length == 0)
            {
                while (pattern.Length > 0 && pattern[0] == (byte)'*')
                    pattern = pattern[1..];
                break;
            }
        }

        return pattern.Length == 0 && text.Length == 0;
    }
}

namespace Estoraje.Resp;

/// <summary>
/// Integers as Redis reads them (<c>string2ll</c>): optional '-', digits, no '+', no spaces, no leading
/// zeros, no overflow. Used for protocol lengths and for every integer argument.
/// </summary>
public static class RespInteger
{
    /// <summary>Parses <paramref name="text"/> strictly; false when it is not a 64-bit integer in canonical form.</summary>
    /// <param name="text">ASCII digits, optionally preceded by '-'.</param>
    /// <param name="value">The value when the text is valid.</param>
    public static bool TryParse(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 20)
            return false;
        if (text.Length == 1 && text[0] == (byte)'0')
            return true;

        var negative = text[0] == (byte)'-';
        var i = negative ? 1 : 0;
        if (i == text.Length || text[i] < (byte)'1' || text[i] > (byte)'9')
            return false;

        ulong magnitude = 0;
        for (; i < text.Length; i++)
        {
            var digit = (uint)(text[i] - '0');
            if (digit > 9)
                return false;
            if (magnitude > (ulong.MaxValue - digit) / 10)
                return false;
            magnitude = magnitude * 10 + digit;
        }

        if (negative)
        {
            if (magnitude > (ulong)long.MaxValue + 1)
                return false;
            value = (long)(0 - magnitude);
            return true;
        }

        if (magnitude > long.MaxValue)
            return false;
        value = (long)magnitude;
        return true;
    }
}

using System.Globalization;
using Estoraje.Resp;

namespace Estoraje.Server.Commands;

/// <summary>Number parsing and formatting with Redis's rules.</summary>
internal static class Numbers
{
    /// <summary>A float as Redis's string2ld reads one: no spaces, "inf"/"-inf" allowed, never NaN.</summary>
    public static bool TryParseDouble(ReadOnlySpan<byte> text, out double value)
    {
        value = 0;
        // Redis copies the text into a 5 KB buffer with its terminator: 5119 characters at most.
        if (text.IsEmpty || text.Length >= 5 * 1024 || IsSpace(text[0]) || IsSpace(text[^1]))
            return false;
        if (System.Text.Ascii.EqualsIgnoreCase(text, "inf"u8) || System.Text.Ascii.EqualsIgnoreCase(text, "+inf"u8) ||
            System.Text.Ascii.EqualsIgnoreCase(text, "infinity"u8) || System.Text.Ascii.EqualsIgnoreCase(text, "+infinity"u8))
        {
            value = double.PositiveInfinity;
            return true;
        }

        if (System.Text.Ascii.EqualsIgnoreCase(text, "-inf"u8) || System.Text.Ascii.EqualsIgnoreCase(text, "-infinity"u8))
        {
            value = double.NegativeInfinity;
            return true;
        }

        // Only digits, sign, point and exponent: .NET would also take "NaN", "Infinity" and thousands separators.
        foreach (var c in text)
        {
            if (!(char.IsAsciiDigit((char)c) || c is (byte)'-' or (byte)'+' or (byte)'.' or (byte)'e' or (byte)'E'))
                return false;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && !double.IsNaN(value);
    }

    /// <summary>
    /// A score as Redis's string2d reads one (ZADD, ZINCRBY, WEIGHTS): C's strtod over the whole text, no leading
    /// space, hexadecimal floats and "inf"/"infinity" allowed; NaN, overflow to ±∞ and underflow to 0 refused.
    /// </summary>
    public static bool TryParseScore(ReadOnlySpan<byte> text, out double value)
    {
        value = 0;
        if (text.IsEmpty || IsSpace(text[0]) || !TryStrtod(text, out value, out var outOfRange))
            return false;
        return !double.IsNaN(value) && !(outOfRange && (double.IsInfinity(value) || value == 0));
    }

    /// <summary>
    /// C's strtod (C locale) that must read all of <paramref name="text"/>: leading white space, a sign, then
    /// "inf"/"infinity", "nan", a hexadecimal float (0x1.8p3) or decimal digits with a point and an exponent. An
    /// empty text reads as 0, as strtod leaves it. <paramref name="outOfRange"/> is strtod's ERANGE: the value
    /// overflowed to ±∞ or a non-zero number underflowed to 0.
    /// </summary>
    public static bool TryStrtod(ReadOnlySpan<byte> text, out double value, out bool outOfRange)
    {
        value = 0;
        outOfRange = false;
        var i = 0;
        while (i < text.Length && IsSpace(text[i]))
            i++;
        // strtod converts nothing in blank text and points back at its start: only empty text reads (as 0) to its end.
        if (i == text.Length)
            return text.IsEmpty;
        var negative = false;
        if (text[i] is (byte)'+' or (byte)'-')
            negative = text[i++] == (byte)'-';
        var rest = text[i..];
        if (System.Text.Ascii.EqualsIgnoreCase(rest, "inf"u8) || System.Text.Ascii.EqualsIgnoreCase(rest, "infinity"u8))
            value = double.PositiveInfinity;
        else if (System.Text.Ascii.EqualsIgnoreCase(rest, "nan"u8))
            value = double.NaN;
        else if (rest.Length > 2 && rest[0] == (byte)'0' && (rest[1] | 0x20) == (byte)'x')
        {
            if (!TryParseHexFloat(rest[2..], out value, out outOfRange))
                return false;
        }
        else if (!TryParseDecimal(rest, out value, out outOfRange))
            return false;

        value = negative ? -value : value;
        return true;
    }

    // Digits, an optional point and digits (at least one digit in all), an optional exponent with digits.
    private static bool TryParseDecimal(ReadOnlySpan<byte> text, out double value, out bool outOfRange)
    {
        value = 0;
        outOfRange = false;
        var i = 0;
        var digits = 0;
        var nonZero = false;
        while (i < text.Length && char.IsAsciiDigit((char)text[i]))
        {
            nonZero |= text[i++] != (byte)'0';
            digits++;
        }

        if (i < text.Length && text[i] == (byte)'.')
        {
            i++;
            while (i < text.Length && char.IsAsciiDigit((char)text[i]))
            {
                nonZero |= text[i++] != (byte)'0';
                digits++;
            }
        }

        if (digits == 0)
            return false;
        if (i < text.Length && (text[i] | 0x20) == (byte)'e')
        {
            i++;
            if (i < text.Length && text[i] is (byte)'+' or (byte)'-')
                i++;
            var exponentDigits = 0;
            while (i < text.Length && char.IsAsciiDigit((char)text[i]))
            {
                i++;
                exponentDigits++;
            }

            if (exponentDigits == 0)
                return false;
        }

        if (i != text.Length || !double.TryParse(text, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out value))
            return false;
        outOfRange = double.IsInfinity(value) || (nonZero && value == 0);
        return true;
    }

    // After "0x": hex digits with an optional point (at least one digit), then an optional binary exponent p±d.
    private static bool TryParseHexFloat(ReadOnlySpan<byte> text, out double value, out bool outOfRange)
    {
        value = 0;
        outOfRange = false;
        ulong mantissa = 0;
        var exponent = 0L;
        var digits = 0;
        var i = 0;
        var afterPoint = false;
        for (; i < text.Length; i++)
        {
            if (text[i] == (byte)'.' && !afterPoint)
            {
                afterPoint = true;
                continue;
            }

            var nibble = HexValue(text[i]);
            if (nibble < 0)
                break;
            digits++;
            // Keep 60 bits of mantissa; later digits only move the exponent (their bits are below a double's reach).
            if (mantissa >> 56 == 0)
            {
                mantissa = (mantissa << 4) | (uint)nibble;
                if (afterPoint)
                    exponent -= 4;
            }
            else if (!afterPoint)
            {
                exponent += 4;
            }
        }

        if (digits == 0)
            return false;
        if (i < text.Length && (text[i] | 0x20) == (byte)'p')
        {
            i++;
            var negative = false;
            if (i < text.Length && text[i] is (byte)'+' or (byte)'-')
                negative = text[i++] == (byte)'-';
            var start = i;
            long binary = 0;
            while (i < text.Length && char.IsAsciiDigit((char)text[i]))
                binary = Math.Min(binary * 10 + (text[i++] - '0'), 100_000);
            if (i == start)
                return false;
            exponent += negative ? -binary : binary;
        }

        if (i != text.Length)
            return false;
        value = Math.ScaleB((double)mantissa, (int)Math.Clamp(exponent, -100_000, 100_000));
        outOfRange = double.IsInfinity(value) || (mantissa != 0 && value == 0);
        return true;
    }

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>
    /// A float as INCRBYFLOAT replies with one (Redis's "human" long double format): plain decimal notation,
    /// no exponent, no trailing zeros, the shortest digits that read back as the same value, rounded to 17 decimals.
    /// </summary>
    public static string FormatHuman(double value)
    {
        if (value == 0)
            return "0";
        var plain = PlainShortest(value);
        var point = plain.IndexOf('.', StringComparison.Ordinal);
        if (point < 0 || plain.Length - point - 1 <= 17)
            return plain;

        // Redis prints "%.17Lf" and trims the zeros: nothing past the 17th decimal survives (1e-20 is "0").
        var rounded = value.ToString("F17", CultureInfo.InvariantCulture).TrimEnd('0').TrimEnd('.');
        return rounded == "-0" ? "0" : rounded;
    }

    // The shortest round-trip digits of a non-zero value, in plain decimal notation.
    private static string PlainShortest(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        var e = text.IndexOf('E', StringComparison.Ordinal);
        if (e < 0)
            return text;

        // Expand d.dddE±x into plain digits.
        var exponent = int.Parse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var mantissa = text[..e];
        var negative = mantissa.StartsWith('-');
        if (negative)
            mantissa = mantissa[1..];
        var point = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = point < 0 ? mantissa : mantissa.Remove(point, 1);
        var integerDigits = (point < 0 ? mantissa.Length : point) + exponent;
        string plain;
        if (integerDigits <= 0)
            plain = "0." + new string('0', -integerDigits) + digits;
        else if (integerDigits >= digits.Length)
            plain = digits + new string('0', integerDigits - digits.Length);
        else
            plain = digits[..integerDigits] + "." + digits[integerDigits..];
        return negative ? "-" + plain : plain;
    }

    /// <summary>Whether a string value is stored by Redis as an integer (OBJECT ENCODING "int").</summary>
    public static bool IsCanonicalInteger(ReadOnlySpan<byte> value) => value.Length <= 20 && RespInteger.TryParse(value, out _);

    private static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f';
}

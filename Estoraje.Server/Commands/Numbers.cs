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

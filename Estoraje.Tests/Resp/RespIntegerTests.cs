using System.Globalization;
using System.Text;
using CsCheck;
using Estoraje.Resp;

namespace Estoraje.Tests.Resp;

public sealed class RespIntegerTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("1", 1L)]
    [InlineData("-1", -1L)]
    [InlineData("10", 10L)]
    [InlineData("1234567890", 1234567890L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("-9223372036854775808", long.MinValue)]
    public void Canonical_integer_is_accepted(string text, long expected)
    {
        Assert.True(RespInteger.TryParse(Encoding.ASCII.GetBytes(text), out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData("+1")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("01")]
    [InlineData("00")]
    [InlineData("-0")]
    [InlineData("-01")]
    [InlineData("--1")]
    [InlineData("1-")]
    [InlineData("1a")]
    [InlineData("0x10")]
    [InlineData("1.0")]
    [InlineData("1e3")]
    [InlineData("9223372036854775808")]
    [InlineData("-9223372036854775809")]
    [InlineData("18446744073709551615")]
    [InlineData("18446744073709551616")]
    [InlineData("99999999999999999999")]
    [InlineData("123456789012345678901")]
    public void Non_canonical_or_out_of_range_text_is_rejected(string text)
    {
        Assert.False(RespInteger.TryParse(Encoding.ASCII.GetBytes(text), out _));
    }

    [Fact]
    public void Non_ascii_digits_are_rejected()
    {
        Assert.False(RespInteger.TryParse(Encoding.UTF8.GetBytes("١٢"), out _));
        Assert.False(RespInteger.TryParse([(byte)'1', 0], out _));
    }

    [Fact]
    public void Every_long_reads_back_from_its_decimal_text()
    {
        Gen.Long.Sample(n =>
        {
            var text = Encoding.ASCII.GetBytes(n.ToString(CultureInfo.InvariantCulture));
            return RespInteger.TryParse(text, out var value) && value == n;
        }, iter: 20_000);
    }

    [Fact]
    public void Text_is_accepted_exactly_when_it_is_the_canonical_spelling_of_a_long()
    {
        // Reference: .NET reads it as a long and writes it back the same (no '+', no leading zero, no "-0").
        var digitsAndSigns = Gen.String[Gen.Char["0123456789-+ "], 0, 21];
        var nearLimits = Gen.OneOfConst("9223372036854775807", "9223372036854775808", "-9223372036854775808",
            "-9223372036854775809", "18446744073709551616", "0", "-0");
        Gen.OneOf(digitsAndSigns, nearLimits, Gen.Long.Select(n => n.ToString(CultureInfo.InvariantCulture))).Sample(text =>
        {
            var expected = long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var reference) &&
                reference.ToString(CultureInfo.InvariantCulture) == text;
            var accepted = RespInteger.TryParse(Encoding.ASCII.GetBytes(text), out var value);
            return accepted == expected && (!accepted || value == reference);
        }, iter: 50_000);
    }
}

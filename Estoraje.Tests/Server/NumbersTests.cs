using System.Globalization;
using System.Text;
using Estoraje.Server.Commands;

namespace Estoraje.Tests.Server;

public sealed class NumbersTests
{
    [Theory]
    [InlineData("0", 0.0)]
    [InlineData("1", 1.0)]
    [InlineData("-1", -1.0)]
    [InlineData("10.5", 10.5)]
    [InlineData("-10.5", -10.5)]
    [InlineData("+1.5", 1.5)]
    [InlineData("1e3", 1000.0)]
    [InlineData("1E3", 1000.0)]
    [InlineData("1e+3", 1000.0)]
    [InlineData("-1.5e-3", -0.0015)]
    [InlineData(".5", 0.5)]
    [InlineData("5.", 5.0)]
    [InlineData("007", 7.0)]
    [InlineData("inf", double.PositiveInfinity)]
    [InlineData("+inf", double.PositiveInfinity)]
    [InlineData("INF", double.PositiveInfinity)]
    [InlineData("-inf", double.NegativeInfinity)]
    [InlineData("infinity", double.PositiveInfinity)]
    [InlineData("-Infinity", double.NegativeInfinity)]
    public void Float_text_is_accepted(string text, double expected)
    {
        Assert.True(Numbers.TryParseDouble(Encoding.ASCII.GetBytes(text), out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("\t1")]
    [InlineData("1\n")]
    [InlineData("1 000")]
    [InlineData("nan")]
    [InlineData("NaN")]
    [InlineData("-nan")]
    [InlineData("1,5")]
    [InlineData("1,000.5")]
    [InlineData("0x10")]
    [InlineData("0x1p3")]
    [InlineData("1e")]
    [InlineData("e3")]
    [InlineData(".")]
    [InlineData("-")]
    [InlineData("+")]
    [InlineData("1.2.3")]
    [InlineData("--1")]
    [InlineData("1-")]
    [InlineData("inf1")]
    [InlineData("∞")]
    [InlineData("abc")]
    public void Non_float_text_is_rejected(string text)
    {
        Assert.False(Numbers.TryParseDouble(Encoding.UTF8.GetBytes(text), out _));
    }

    [Fact]
    public void Float_text_of_up_to_5119_characters_is_accepted_as_redis_does()
    {
        // Redis's string2ld copies into a 5 KB buffer and refuses text that does not fit with its terminator.
        var longest = "0." + new string('0', 5 * 1024 - 3);
        Assert.Equal(5119, longest.Length);
        Assert.True(Numbers.TryParseDouble(Encoding.ASCII.GetBytes(longest), out var value));
        Assert.Equal(0.0, value);
        Assert.False(Numbers.TryParseDouble(Encoding.ASCII.GetBytes(longest + "0"), out _));
    }

    [Theory]
    [InlineData(5200.0, "5200")]
    [InlineData(3.0, "3")]
    [InlineData(-1.5, "-1.5")]
    [InlineData(0.0, "0")]
    [InlineData(1e20, "100000000000000000000")]
    [InlineData(-1e20, "-100000000000000000000")]
    [InlineData(1.2345e25, "12345000000000000000000000")]
    [InlineData(1e-5, "0.00001")]
    [InlineData(-1e-5, "-0.00001")]
    [InlineData(1.5e-7, "0.00000015")]
    [InlineData(3e-17, "0.00000000000000003")]
    [InlineData(1.23e-15, "0.00000000000000123")]
    [InlineData(1234.5678, "1234.5678")]
    public void Human_format_is_plain_decimal_without_trailing_zeros(double value, string expected)
    {
        Assert.Equal(expected, Numbers.FormatHuman(value));
    }

    [Fact]
    public void Human_format_of_negative_zero_has_no_sign()
    {
        Assert.Equal("0", Numbers.FormatHuman(-0.0));
    }

    [Fact]
    public void Human_format_of_a_sum_is_the_shortest_text_of_the_result()
    {
        Assert.Equal("10.6", Numbers.FormatHuman(10.5 + 0.1));
        Assert.Equal("5200", Numbers.FormatHuman(5000.0 + 200.0));
    }

    // Redis formats with "%.17Lf" then trims zeros: nothing past the 17th decimal survives.
    [Theory]
    [InlineData(1.234e-15, "0.00000000000000123")]
    [InlineData(6e-18, "0.00000000000000001")]
    [InlineData(1e-20, "0")]
    [InlineData(-1e-20, "0")]
    [InlineData(-6e-18, "-0.00000000000000001")]
    public void Human_format_rounds_to_17_decimals(double value, string expected)
    {
        Assert.Equal(expected, Numbers.FormatHuman(value));
    }

    [Fact]
    public void Human_format_of_a_decimal_with_up_to_15_digits_gives_back_that_decimal()
    {
        // Such a decimal survives the trip through a double, so its shortest text is the decimal itself.
        var random = new Random(5);
        for (var i = 0; i < 20_000; i++)
        {
            var mantissa = random.NextInt64(1, 1_000_000_000_000_000);
            var negative = random.Next(2) == 0;
            var shift = random.Next(-17, 11); // below zero: decimals; above: trailing zeros
            var digits = mantissa.ToString(CultureInfo.InvariantCulture);
            string expected;
            if (shift >= 0)
            {
                expected = digits + new string('0', shift);
            }
            else
            {
                var padded = digits.PadLeft(-shift + 1, '0');
                expected = (padded[..^-shift] + "." + padded[^-shift..]).TrimEnd('0').TrimEnd('.');
            }

            if (negative)
                expected = "-" + expected;
            var value = double.Parse(expected, CultureInfo.InvariantCulture);
            Assert.Equal(expected, Numbers.FormatHuman(value));
        }
    }

    [Theory]
    [InlineData("0", true)]
    [InlineData("-42", true)]
    [InlineData("9223372036854775807", true)]
    [InlineData("9223372036854775808", false)]
    [InlineData("042", false)]
    [InlineData("4.2", false)]
    [InlineData("", false)]
    public void Canonical_integer_is_recognised(string text, bool expected)
    {
        Assert.Equal(expected, Numbers.IsCanonicalInteger(Encoding.ASCII.GetBytes(text)));
    }
    [Theory]
    [InlineData("1", 1.0)]
    [InlineData("-2.5", -2.5)]
    [InlineData("+.5", 0.5)]
    [InlineData("5.", 5.0)]
    [InlineData("1e3", 1000.0)]
    [InlineData("0x10", 16.0)]
    [InlineData("0x1.8p1", 3.0)]
    [InlineData("-0X.8", -0.5)]
    [InlineData("inf", double.PositiveInfinity)]
    [InlineData("-Infinity", double.NegativeInfinity)]
    [InlineData("1e-310", 1e-310)]
    public void Scores_read_as_string2d_reads_them(string text, double expected)
    {
        Assert.True(Numbers.TryParseScore(Encoding.ASCII.GetBytes(text), out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("nan")]
    [InlineData("1e400")]
    [InlineData("-1e400")]
    [InlineData("1e-400")]
    [InlineData("0x")]
    [InlineData("1e")]
    [InlineData("1_000")]
    [InlineData("infinit")]
    [InlineData(".")]
    public void Scores_string2d_refuses_are_refused(string text) =>
        Assert.False(Numbers.TryParseScore(Encoding.ASCII.GetBytes(text), out _));

    [Theory]
    [InlineData("", 0.0, false)]
    [InlineData(" \t1.5", 1.5, false)]
    [InlineData("1e400", double.PositiveInfinity, true)]
    [InlineData("1e-400", 0.0, true)]
    [InlineData("0e-400", 0.0, false)]
    public void Strtod_reads_whole_text_with_leading_space_and_reports_range_errors(string text, double expected, bool outOfRange)
    {
        Assert.True(Numbers.TryStrtod(Encoding.ASCII.GetBytes(text), out var value, out var range));
        Assert.Equal(expected, value);
        Assert.Equal(outOfRange, range);
    }

    [Theory]
    [InlineData(" ")]
    [InlineData("+")]
    [InlineData("1x")]
    [InlineData("(1")]
    public void Strtod_refuses_text_it_cannot_read_to_the_end(string text) =>
        Assert.False(Numbers.TryStrtod(Encoding.ASCII.GetBytes(text), out _, out _));
}

using System.Buffers;
using System.Text;
using Estoraje.Resp;

namespace Estoraje.Tests.Resp;

public sealed class RespWriterTests
{
    [Fact]
    public void Ok_is_a_simple_string()
    {
        Assert.Equal("+OK\r\n", Write(2, w => w.WriteOk()));
    }

    [Fact]
    public void Simple_string_from_text_and_from_bytes()
    {
        Assert.Equal("+PONG\r\n", Write(2, w => w.WriteSimpleString("PONG")));
        Assert.Equal("+QUEUED\r\n", Write(3, w => w.WriteSimpleString("QUEUED"u8)));
        Assert.Equal("+\r\n", Write(2, w => w.WriteSimpleString("")));
    }

    [Fact]
    public void Simple_string_never_carries_a_line_break()
    {
        Assert.Equal("+a  b\r\n", Write(2, w => w.WriteSimpleString("a\r\nb"u8)));
    }

    [Fact]
    public void Error_has_its_line_breaks_turned_into_spaces()
    {
        Assert.Equal("-ERR bad  thing happened\r\n", Write(2, w => w.WriteError("ERR bad\r\nthing\rhappened")));
    }

    [Fact]
    public void Long_error_with_non_ascii_text_is_written_as_utf8()
    {
        var text = "ERR " + new string('x', 300) + "\nñ";
        var expected = "-ERR " + new string('x', 300) + " \u00c3\u00b1\r\n"; // ñ as its two UTF-8 bytes, read as Latin-1
        Assert.Equal(expected, Write(2, w => w.WriteError(text)));
    }

    [Theory]
    [InlineData(0, ":0\r\n")]
    [InlineData(-1, ":-1\r\n")]
    [InlineData(1234567890123, ":1234567890123\r\n")]
    [InlineData(long.MaxValue, ":9223372036854775807\r\n")]
    [InlineData(long.MinValue, ":-9223372036854775808\r\n")]
    public void Integer_is_written_in_decimal(long value, string expected)
    {
        Assert.Equal(expected, Write(2, w => w.WriteInteger(value)));
        Assert.Equal(expected, Write(3, w => w.WriteInteger(value)));
    }

    [Fact]
    public void Bulk_string_from_bytes()
    {
        Assert.Equal("$3\r\nfoo\r\n", Write(2, w => w.WriteBulkString("foo"u8)));
    }

    [Fact]
    public void Bulk_string_is_binary_safe()
    {
        Assert.Equal("$6\r\n\r\n\0\xff\r\n\r\n", Write(2, w => w.WriteBulkString([13, 10, 0, 255, 13, 10])));
    }

    [Fact]
    public void Empty_bulk_string_is_not_null()
    {
        Assert.Equal("$0\r\n\r\n", Write(2, w => w.WriteBulkString(ReadOnlySpan<byte>.Empty)));
        Assert.Equal("$0\r\n\r\n", Write(3, w => w.WriteBulkString("")));
    }

    [Fact]
    public void Bulk_string_from_text_counts_utf8_bytes()
    {
        Assert.Equal("$6\r\nh\u00c3\u00a9llo\r\n", Write(2, w => w.WriteBulkString("héllo")));
    }

    [Theory]
    [InlineData(0, "$1\r\n0\r\n")]
    [InlineData(-42, "$3\r\n-42\r\n")]
    [InlineData(long.MinValue, "$20\r\n-9223372036854775808\r\n")]
    public void Bulk_string_from_integer(long value, string expected)
    {
        Assert.Equal(expected, Write(2, w => w.WriteBulkString(value)));
    }

    [Fact]
    public void Bulk_string_larger_than_64_KB_is_written_whole()
    {
        var value = new byte[200_000];
        new Random(7).NextBytes(value);
        var buffer = new ArrayBufferWriter<byte>();
        new RespWriter(buffer).WriteBulkString(value);

        var header = "$200000\r\n"u8;
        Assert.Equal(header.Length + value.Length + 2, buffer.WrittenCount);
        Assert.True(buffer.WrittenSpan[..header.Length].SequenceEqual(header));
        Assert.True(buffer.WrittenSpan.Slice(header.Length, value.Length).SequenceEqual(value));
        Assert.True(buffer.WrittenSpan[^2..].SequenceEqual("\r\n"u8));
    }

    [Fact]
    public void Large_bulk_string_goes_through_a_writer_that_hands_out_small_spans()
    {
        var value = new byte[150_000];
        new Random(8).NextBytes(value);
        var output = new StingyWriter();
        new RespWriter(output).WriteBulkString(value);

        var expected = new List<byte>();
        expected.AddRange("$150000\r\n"u8.ToArray());
        expected.AddRange(value);
        expected.AddRange("\r\n"u8.ToArray());
        Assert.Equal(expected.ToArray(), output.Written.ToArray());
    }

    [Fact]
    public void Null_is_dollar_minus_one_in_resp2_and_underscore_in_resp3()
    {
        Assert.Equal("$-1\r\n", Write(2, w => w.WriteNull()));
        Assert.Equal("_\r\n", Write(3, w => w.WriteNull()));
    }

    [Fact]
    public void Null_array_is_star_minus_one_in_resp2_and_underscore_in_resp3()
    {
        Assert.Equal("*-1\r\n", Write(2, w => w.WriteNullArray()));
        Assert.Equal("_\r\n", Write(3, w => w.WriteNullArray()));
    }

    [Fact]
    public void Array_header_then_elements()
    {
        var written = Write(2, w =>
        {
            w.WriteArrayHeader(3);
            w.WriteBulkString("a"u8);
            w.WriteInteger(1);
            w.WriteNull();
        });
        Assert.Equal("*3\r\n$1\r\na\r\n:1\r\n$-1\r\n", written);
        Assert.Equal("*0\r\n", Write(3, w => w.WriteArrayHeader(0)));
    }

    [Fact]
    public void Map_is_a_flat_array_of_twice_the_pairs_in_resp2()
    {
        Assert.Equal("*4\r\n", Write(2, w => w.WriteMapHeader(2)));
        Assert.Equal("*0\r\n", Write(2, w => w.WriteMapHeader(0)));
    }

    [Fact]
    public void Map_is_a_percent_header_in_resp3()
    {
        var written = Write(3, w =>
        {
            w.WriteMapHeader(1);
            w.WriteBulkString("server"u8);
            w.WriteBulkString("estoraje"u8);
        });
        Assert.Equal("%1\r\n$6\r\nserver\r\n$8\r\nestoraje\r\n", written);
    }

    [Fact]
    public void Set_is_an_array_in_resp2_and_a_tilde_header_in_resp3()
    {
        Assert.Equal("*3\r\n", Write(2, w => w.WriteSetHeader(3)));
        Assert.Equal("~3\r\n", Write(3, w => w.WriteSetHeader(3)));
    }

    [Fact]
    public void Push_is_an_array_in_resp2_and_a_greater_than_header_in_resp3()
    {
        Assert.Equal("*3\r\n", Write(2, w => w.WritePushHeader(3)));
        Assert.Equal(">3\r\n", Write(3, w => w.WritePushHeader(3)));
    }

    [Fact]
    public void Attribute_header_is_a_pipe()
    {
        Assert.Equal("|1\r\n", Write(3, w => w.WriteAttributeHeader(1)));
    }

    [Fact]
    public void Boolean_is_an_integer_in_resp2_and_a_hash_in_resp3()
    {
        Assert.Equal(":1\r\n", Write(2, w => w.WriteBoolean(true)));
        Assert.Equal(":0\r\n", Write(2, w => w.WriteBoolean(false)));
        Assert.Equal("#t\r\n", Write(3, w => w.WriteBoolean(true)));
        Assert.Equal("#f\r\n", Write(3, w => w.WriteBoolean(false)));
    }

    [Fact]
    public void Double_is_a_comma_line_in_resp3_and_a_bulk_string_in_resp2()
    {
        Assert.Equal(",1.5\r\n", Write(3, w => w.WriteDouble(1.5)));
        Assert.Equal("$3\r\n1.5\r\n", Write(2, w => w.WriteDouble(1.5)));
    }

    [Fact]
    public void Infinities_and_nan_are_spelled_as_redis_does()
    {
        Assert.Equal(",inf\r\n", Write(3, w => w.WriteDouble(double.PositiveInfinity)));
        Assert.Equal(",-inf\r\n", Write(3, w => w.WriteDouble(double.NegativeInfinity)));
        Assert.Equal(",nan\r\n", Write(3, w => w.WriteDouble(double.NaN)));
        Assert.Equal("$3\r\ninf\r\n", Write(2, w => w.WriteDouble(double.PositiveInfinity)));
        Assert.Equal("$4\r\n-inf\r\n", Write(2, w => w.WriteDouble(double.NegativeInfinity)));
        Assert.Equal("$3\r\nnan\r\n", Write(2, w => w.WriteDouble(double.NaN)));
    }

    // Redis 7.2's d2string: integral values up to 2^62 as integers, others as the shortest round-trip digits
    // laid out by fpconv_dtoa (plain up to 21 digits, plain decimals down to 1e-6, else d.ddde±x).
    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(-0.0, "-0")]
    [InlineData(1.0, "1")]
    [InlineData(-3.0, "-3")]
    [InlineData(1.5, "1.5")]
    [InlineData(-1.5, "-1.5")]
    [InlineData(0.1, "0.1")]
    [InlineData(123.456, "123.456")]
    [InlineData(1e15, "1000000000000000")]
    [InlineData(1e16, "10000000000000000")]
    [InlineData(4611686018427387904.0, "4611686018427387904")]
    [InlineData(9223372036854775808.0, "9223372036854776000")]
    [InlineData(123456789012345678901.0, "123456789012345680000")]
    [InlineData(1e20, "1e+20")]
    [InlineData(-1e20, "-1e+20")]
    [InlineData(1.5e300, "1.5e+300")]
    [InlineData(1.7976931348623157e308, "1.7976931348623157e+308")]
    [InlineData(0.001, "0.001")]
    [InlineData(1e-5, "0.00001")]
    [InlineData(1.5e-6, "1.5e-6")]
    [InlineData(1e-7, "1e-7")]
    [InlineData(-2.5e-10, "-2.5e-10")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(1500000000000000.5, "1500000000000000.5")]
    [InlineData(3.14159, "3.14159")]
    public void Double_text_matches_redis(double value, string expected)
    {
        Span<byte> text = stackalloc byte[64];
        var n = RespWriter.FormatDouble(value, text);
        Assert.Equal(expected, Encoding.ASCII.GetString(text[..n]));
        Assert.Equal($",{expected}\r\n", Write(3, w => w.WriteDouble(value)));
    }

    [Fact]
    public void Double_text_reads_back_as_the_same_value()
    {
        var random = new Random(11);
        Span<byte> text = stackalloc byte[64];
        for (var i = 0; i < 20_000; i++)
        {
            var value = BitConverter.Int64BitsToDouble(random.NextInt64());
            if (!double.IsFinite(value))
                continue;
            var n = RespWriter.FormatDouble(value, text);
            var parsed = double.Parse(text[..n], provider: System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(BitConverter.DoubleToInt64Bits(value) == BitConverter.DoubleToInt64Bits(parsed),
                $"{value:R} was written as {Encoding.ASCII.GetString(text[..n])}");
        }
    }

    [Fact]
    public void Big_number_is_a_parenthesis_line_in_resp3_and_a_bulk_string_in_resp2()
    {
        var digits = "3492890328409238509324850943850943825024385"u8.ToArray();
        Assert.Equal("(3492890328409238509324850943850943825024385\r\n", Write(3, w => w.WriteBigNumber(digits)));
        Assert.Equal("$43\r\n3492890328409238509324850943850943825024385\r\n", Write(2, w => w.WriteBigNumber(digits)));
    }

    [Fact]
    public void Verbatim_string_carries_its_format_in_resp3_and_is_a_bulk_string_in_resp2()
    {
        Assert.Equal("=15\r\ntxt:Some string\r\n", Write(3, w => w.WriteVerbatimString("txt", "Some string"u8)));
        Assert.Equal("$11\r\nSome string\r\n", Write(2, w => w.WriteVerbatimString("txt", "Some string"u8)));
        Assert.Equal("=4\r\nmkd:\r\n", Write(3, w => w.WriteVerbatimString("mkd", ""u8)));
    }

    [Fact]
    public void Verbatim_string_format_must_have_three_characters()
    {
        var writer = new RespWriter(new ArrayBufferWriter<byte>()) { Protocol = 3 };
        Assert.Throws<ArgumentException>(() => writer.WriteVerbatimString("text", "x"u8));
    }

    [Fact]
    public void Raw_bytes_are_copied_as_they_are()
    {
        Assert.Equal("+PONG\r\n:1\r\n", Write(2, w => w.WriteRaw("+PONG\r\n:1\r\n"u8)));
    }

    [Fact]
    public void Replies_written_one_after_another_are_concatenated()
    {
        var written = Write(2, w =>
        {
            w.WriteOk();
            w.WriteInteger(7);
            w.WriteBulkString("x"u8);
            w.WriteError("ERR no");
        });
        Assert.Equal("+OK\r\n:7\r\n$1\r\nx\r\n-ERR no\r\n", written);
    }

    [Fact]
    public void Output_can_be_swapped()
    {
        var first = new ArrayBufferWriter<byte>();
        var second = new ArrayBufferWriter<byte>();
        var writer = new RespWriter(first);
        writer.WriteOk();
        writer.Output = second;
        writer.WriteInteger(1);
        Assert.Equal("+OK\r\n"u8.ToArray(), first.WrittenSpan.ToArray());
        Assert.Equal(":1\r\n"u8.ToArray(), second.WrittenSpan.ToArray());
        Assert.Same(second, writer.Output);
    }

    [Fact]
    public void Writer_speaks_resp2_until_told_otherwise()
    {
        var writer = new RespWriter(new ArrayBufferWriter<byte>());
        Assert.Equal(2, writer.Protocol);
        Assert.False(writer.IsResp3);
        writer.Protocol = 3;
        Assert.True(writer.IsResp3);
    }

    [Theory]
    [InlineData(0L, "0")]
    [InlineData(-7L, "-7")]
    [InlineData(long.MinValue, "-9223372036854775808")]
    public void FormatInt64_writes_ascii_digits(long value, string expected)
    {
        Span<byte> text = stackalloc byte[20];
        var n = RespWriter.FormatInt64(value, text);
        Assert.Equal(expected, Encoding.ASCII.GetString(text[..n]));
    }

    private static string Write(int protocol, Action<RespWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(new RespWriter(buffer) { Protocol = protocol });
        return Encoding.Latin1.GetString(buffer.WrittenSpan);
    }

    // Hands out exactly what is asked for (the least IBufferWriter allows), in separate chunks.
    private sealed class StingyWriter : IBufferWriter<byte>
    {
        private byte[] _current = [];

        public List<byte> Written { get; } = [];

        public void Advance(int count) => Written.AddRange(_current.AsSpan(0, count).ToArray());

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            _current = new byte[Math.Max(sizeHint, 1)];
            return _current;
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }
}

using System.Text;
using Estoraje.Resp;

namespace Estoraje.Tests.Resp;

public class ReplyReaderTests
{
    private static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    [Fact]
    public void Reads_nested_arrays_integers_and_bulk_strings_in_order()
    {
        var reply = Bytes("*3\r\n$2\r\n42\r\n*2\r\n$5\r\nk\r\ney\r\n:-7\r\n$-1\r\n");
        var reader = new ReplyReader(reply);
        Assert.Equal(3, reader.ReadArrayHeader());
        Assert.Equal(42UL, reader.ReadBulkUnsigned());
        Assert.Equal(2, reader.ReadArrayHeader());
        Assert.Equal("k\r\ney", Encoding.Latin1.GetString(reader.ReadBulk()));
        Assert.Equal(-7, reader.ReadInteger());
        Assert.False(reader.TryReadBulk(out _));
        Assert.True(reader.End);
    }

    [Fact]
    public void A_null_array_reads_as_minus_one_and_an_unsigned_needs_all_64_bits()
    {
        var reader = new ReplyReader(Bytes("*-1\r\n$20\r\n18446744073709551615\r\n"));
        Assert.Equal(-1, reader.ReadArrayHeader());
        Assert.Equal(ulong.MaxValue, reader.ReadBulkUnsigned());
    }

    [Theory]
    [InlineData("-ERR slot sync commands are accepted from peers only\r\n", "peer replied an error: ERR slot sync")]
    [InlineData("+OK\r\n", "Expected ':'")]
    [InlineData(":12", "Truncated")]
    [InlineData(":1x\r\n", "Not an integer")]
    public void Anything_but_the_expected_integer_throws_with_what_the_peer_said(string text, string message)
    {
        var reply = Bytes(text);
        var ex = Assert.Throws<FormatException>(() => new ReplyReader(reply).ReadInteger());
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("$10\r\nshort\r\n")]
    [InlineData("$5\r\nhelloXY")]
    [InlineData("$-1\r\n")]
    public void A_bulk_string_past_the_end_or_null_where_one_is_required_throws(string text)
    {
        var reply = Bytes(text);
        Assert.Throws<FormatException>(() => new ReplyReader(reply).ReadBulk());
    }
}

using System.Buffers;
using System.Text;
using Estoraje.Resp;
using Estoraje.Tests.Support;

namespace Estoraje.Tests.Resp;

public class ReplyFramerTests
{
    public static TheoryData<string> Replies => new()
    {
        "+OK\r\n",
        "-ERR unknown command 'x'\r\n",
        ":-42\r\n",
        "$5\r\nhello\r\n",
        "$0\r\n\r\n",
        "$-1\r\n",
        "*-1\r\n",
        "*0\r\n",
        "*3\r\n:1\r\n$3\r\nfoo\r\n*2\r\n+a\r\n$-1\r\n",
        "$12\r\nbinary\r\n\0\r\nx\r\n",
        "_\r\n",
        "#t\r\n",
        ",1.5\r\n",
        "(3492890328409238509324850943850943825024385\r\n",
        "!21\r\nSYNTAX invalid syntax\r\n",
        "=15\r\ntxt:Some string\r\n",
        "%2\r\n+first\r\n:1\r\n+second\r\n*1\r\n%1\r\n+k\r\n+v\r\n",
        "~2\r\n+a\r\n+b\r\n",
        ">3\r\n+message\r\n+channel\r\n$4\r\ndata\r\n",
        "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n",
    };

    [Theory]
    [MemberData(nameof(Replies))]
    public void A_complete_reply_is_measured_exactly_even_with_the_next_one_behind_it(string reply)
    {
        var bytes = Encoding.Latin1.GetBytes(reply + "+NEXT\r\n");
        Assert.Equal(ParseStatus.Done, ReplyFramer.TryFrame(new ReadOnlySequence<byte>(bytes), out var length));
        Assert.Equal(Encoding.Latin1.GetByteCount(reply), length);
    }

    [Theory]
    [MemberData(nameof(Replies))]
    public void Every_proper_prefix_needs_more_data_and_every_split_frames_the_same(string reply)
    {
        var bytes = Encoding.Latin1.GetBytes(reply);
        for (var cut = 0; cut < bytes.Length; cut++)
            Assert.Equal(ParseStatus.NeedMoreData, ReplyFramer.TryFrame(new ReadOnlySequence<byte>(bytes, 0, cut), out _));
        for (var split = 1; split < bytes.Length; split++)
        {
            Assert.Equal(ParseStatus.Done, ReplyFramer.TryFrame(Sequences.SplitAt(bytes, split), out var length));
            Assert.Equal(bytes.Length, length);
        }
    }

    [Theory]
    [InlineData("?what\r\n")]
    [InlineData("$abc\r\nxx\r\n")]
    [InlineData("*-2\r\n")]
    public void Bytes_that_are_not_resp_are_invalid(string reply) =>
        Assert.Equal(ParseStatus.Invalid, ReplyFramer.TryFrame(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(reply)), out _));
}

using System.Text;
using Estoraje.Resp;

namespace Estoraje.Tests.Resp;

public sealed class RequestScannerTests
{
    private static (string[] Names, string[] Firsts) Scan(string payload, int max = 16)
    {
        var data = Encoding.Latin1.GetBytes(payload);
        var names = new Range[max];
        var firsts = new Range[max];
        var count = RequestScanner.Scan(data, names, firsts);
        return (names[..count].Select(r => Encoding.Latin1.GetString(data[r])).ToArray(),
            firsts[..count].Select(r => Encoding.Latin1.GetString(data[r])).ToArray());
    }

    [Fact]
    public void Finds_the_name_and_first_argument_of_each_complete_request()
    {
        var (names, firsts) = Scan("*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$4\r\n\r\n\0x\r\n*1\r\n$4\r\nPING\r\n");

        Assert.Equal(["GET", "SET", "PING"], names);
        Assert.Equal(["key:1", "k2", ""], firsts);
    }

    [Theory]
    [InlineData("*2\r\n$3\r\nGET\r\n$5\r\nkey")]          // value cut short
    [InlineData("*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r")]       // terminator cut short
    [InlineData("*2\r\n$3\r\nGET\r\n")]                    // an element missing
    [InlineData("*2\r\n$3")]                                // a header cut short
    public void Leaves_out_a_request_not_complete_yet(string tail)
    {
        var (names, firsts) = Scan("*2\r\n$3\r\nGET\r\n$1\r\na\r\n" + tail);

        Assert.Equal(["GET"], names);
        Assert.Equal(["a"], firsts);
    }

    [Theory]
    [InlineData("*2\r\n$3\r\nGET\r\n$5\r\nkey:1xx")]       // no CRLF after the value
    [InlineData("*2\r\n$3\r\nGET\r\n:5\r\nkey:1\r\n")]     // not a bulk string
    [InlineData("*-1\r\n")]
    [InlineData("*0\r\n")]
    [InlineData("*2\r\n$-1\r\n$5\r\nkey:1\r\n")]
    [InlineData("*99999999999\r\n$3\r\nGET\r\n")]
    [InlineData("GET key:1\r\n")]                          // inline: the parser's to frame
    public void Stops_at_a_request_that_is_not_plain_multibulk(string tail)
    {
        var (names, firsts) = Scan("*2\r\n$3\r\nGET\r\n$1\r\na\r\n" + tail + "*2\r\n$3\r\nGET\r\n$1\r\nb\r\n");

        Assert.Equal(["GET"], names);
        Assert.Equal(["a"], firsts);
    }

    [Fact]
    public void Looks_at_no_more_requests_than_it_has_room_for()
    {
        var payload = string.Concat(Enumerable.Range(0, 10).Select(i => $"*2\r\n$3\r\nGET\r\n$1\r\n{i}\r\n"));

        var (_, firsts) = Scan(payload, max: 4);

        Assert.Equal(["0", "1", "2", "3"], firsts);
    }

    [Fact]
    public void Finds_nothing_in_an_empty_buffer()
    {
        Assert.Empty(Scan("").Names);
    }
}

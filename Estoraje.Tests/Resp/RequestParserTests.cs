using System.Buffers;
using System.Text;
using Estoraje.Resp;
using Estoraje.Tests.Support;

namespace Estoraje.Tests.Resp;

public sealed class RequestParserTests
{
    // Payloads are written in Latin-1 so that every byte value has a one-character spelling.
    private static readonly Encoding s_latin1 = Encoding.Latin1;

    private static readonly Dictionary<string, (string Payload, string[][] Frames)> s_valid = new()
    {
        ["multibulk"] = ("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", [["SET", "key", "value"]]),
        ["multibulk with empty arguments"] = ("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n", [["SET", "", ""]]),
        ["multibulk with binary argument"] = ("*2\r\n$4\r\nECHO\r\n$8\r\n\r\n\0\xff*$\r\n\r\n", [["ECHO", "\r\n\0\xff*$\r\n"]]),
        ["multibulk with large argument"] = LargeArgument(20_000),
        ["multibulk with many arguments"] = ManyArguments(40),
        ["multibulk count below zero is skipped"] = ("*-2\r\n*1\r\n$4\r\nPING\r\n", [["PING"]]),
        ["bulk terminator is taken unchecked"] = ("*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", [["PING"], ["PING"]]),
        ["inline"] = ("PING\r\n", [["PING"]]),
        ["inline ended by LF alone"] = ("SET k v\n", [["SET", "k", "v"]]),
        ["inline with runs of blanks"] = ("  SET \t key   value  \r\n", [["SET", "key", "value"]]),
        ["inline double quotes with escapes"] = (
            "SET \"a b\" \"\\x41\\n\\r\\t\\b\\a\\\"\\\\\\q\"\r\n", [["SET", "a b", "A\n\r\t\b\a\"\\q"]]),
        ["inline hex escapes"] = ("ECHO \"\\x4a\\x4A\\xZZ\\x4\"\r\n", [["ECHO", "JJxZZx4"]]),
        ["inline single quotes"] = ("SET 'it\\'s' 'a\\nb \"c\"'\r\n", [["SET", "it's", "a\\nb \"c\""]]),
        ["inline empty quoted arguments"] = ("SET \"\" ''\r\n", [["SET", "", ""]]),
        ["inline quoted arguments side by side"] = ("\"a\" 'b'\t\"c\"\r\n", [["a", "b", "c"]]),
        ["inline line ends at NUL"] = ("SET a b\0c d\r\n", [["SET", "a", "b"]]),
        ["inline vertical tab and form feed stay inside an argument"] = ("SET a\vb c\fd\r\n", [["SET", "a\vb", "c\fd"]]),
        ["pipelined multibulk and inline"] = (
            "*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nECHO \"x y\"\n",
            [["PING"], ["PING"], ["ECHO", "hi"], ["ECHO", "x y"]]),
        ["empty requests are skipped"] = ("*0\r\n*-1\r\n\r\n\n   \r\n*1\r\n$4\r\nPING\r\n", [["PING"]]),
        ["trailing empty request is consumed"] = ("*1\r\n$4\r\nPING\r\n*0\r\n\r\n", [["PING"]]),
    };

    private static readonly Dictionary<string, (string Payload, string[][] Before, string Error)> s_invalid = new()
    {
        ["multibulk count not a number"] = ("*abc\r\n", [], "Protocol error: invalid multibulk length"),
        ["multibulk count above INT_MAX"] = ("*3000000000\r\n", [], "Protocol error: invalid multibulk length"),
        ["multibulk count just above INT_MAX"] = ("*2147483648\r\n", [], "Protocol error: invalid multibulk length"),
        ["multibulk count with plus sign"] = ("*+1\r\n", [], "Protocol error: invalid multibulk length"),
        ["multibulk count with leading zero"] = ("*01\r\n", [], "Protocol error: invalid multibulk length"),
        ["multibulk count with leading zero, whole request"] = ("*01\r\n$4\r\nPING\r\n", [], "Protocol error: invalid multibulk length"),
        ["bulk length with leading zero, whole request"] = ("*1\r\n$04\r\nPING\r\n", [], "Protocol error: invalid bulk length"),
        ["multibulk count empty"] = ("*\r\n", [], "Protocol error: invalid multibulk length"),
        ["bulk length negative"] = ("*1\r\n$-1\r\n", [], "Protocol error: invalid bulk length"),
        ["bulk length not a number"] = ("*1\r\n$abc\r\n", [], "Protocol error: invalid bulk length"),
        ["bulk length empty"] = ("*1\r\n$\r\n", [], "Protocol error: invalid bulk length"),
        ["bulk length above 512 MB"] = ("*1\r\n$536870913\r\n", [], "Protocol error: invalid bulk length"),
        ["bulk header without dollar"] = ("*1\r\nx\r\n", [], "Protocol error: expected '$', got 'x'"),
        ["second bulk header without dollar"] = ("*2\r\n$1\r\na\r\n:1\r\n", [], "Protocol error: expected '$', got ':'"),
        ["bulk header empty"] = ("*1\r\n\r\n", [], "Protocol error: expected '$', got '\r'"),
        ["unterminated double quote"] = ("set \"a b\r\n", [], "Protocol error: unbalanced quotes in request"),
        ["double quote closed inside a word"] = ("\"a\"b\r\n", [], "Protocol error: unbalanced quotes in request"),
        ["single quote closed inside a word"] = ("'a'b\r\n", [], "Protocol error: unbalanced quotes in request"),
        ["unterminated single quote"] = ("set 'abc\r\n", [], "Protocol error: unbalanced quotes in request"),
        ["escaped double quote does not close"] = ("set \"abc\\\"\r\n", [], "Protocol error: unbalanced quotes in request"),
        ["error after good requests"] = ("PING\r\n*1\r\n$4\r\nPING\r\n*abc\r\n", [["PING"], ["PING"]], "Protocol error: invalid multibulk length"),
        ["inline over 64 KB without newline"] = (new string('a', 64 * 1024 + 1), [], "Protocol error: too big inline request"),
        ["inline over 64 KB with its newline"] = (new string('a', 70_000) + "\r\n", [], "Protocol error: too big inline request"),
        ["multibulk count line over 64 KB"] = ("*" + new string('1', 64 * 1024), [], "Protocol error: too big mbulk count string"),
        ["multibulk count line over 64 KB with its CRLF"] = ("*" + new string('1', 70_000) + "\r\n", [], "Protocol error: too big mbulk count string"),
        ["bulk count line over 64 KB"] = ("*1\r\n$" + new string('1', 64 * 1024), [], "Protocol error: too big bulk count string"),
        ["bulk count line over 64 KB with its CRLF"] = ("*1\r\n$" + new string('1', 70_000) + "\r\n", [], "Protocol error: too big bulk count string"),
    };

    public static TheoryData<string> ValidPayloads => new(s_valid.Keys);

    public static TheoryData<string> InvalidPayloads => new(s_invalid.Keys);

    [Theory]
    [MemberData(nameof(ValidPayloads))]
    public void Valid_payload_in_one_segment_yields_its_requests(string name)
    {
        var (payload, frames) = s_valid[name];
        var outcome = Run(new RequestParser(), new ReadOnlySequence<byte>(Bytes(payload)));
        AssertComplete(frames, outcome);
    }

    [Theory]
    [MemberData(nameof(ValidPayloads))]
    public void Valid_payload_split_in_two_segments_at_every_byte_yields_the_same_requests(string name)
    {
        var (payload, frames) = s_valid[name];
        var data = Bytes(payload);
        for (var cut = 1; cut < data.Length; cut++)
            AssertComplete(frames, Run(new RequestParser(), Sequences.SplitAt(data, cut)), $"cut at {cut}");
    }

    [Theory]
    [MemberData(nameof(ValidPayloads))]
    public void Valid_payload_with_an_empty_segment_at_every_byte_yields_the_same_requests(string name)
    {
        var (payload, frames) = s_valid[name];
        var data = Bytes(payload);
        for (var cut = 0; cut < data.Length; cut++)
            AssertComplete(frames, Run(new RequestParser(), Sequences.SplitAt(data, cut, cut)), $"empty segment at {cut}");
    }

    [Theory]
    [MemberData(nameof(ValidPayloads))]
    public void Valid_payload_one_byte_per_segment_yields_the_same_requests(string name)
    {
        var (payload, frames) = s_valid[name];
        AssertComplete(frames, Run(new RequestParser(), Sequences.OneBytePerSegment(Bytes(payload))));
    }

    [Theory]
    [MemberData(nameof(ValidPayloads))]
    public void Valid_payload_arriving_byte_by_byte_yields_the_same_requests(string name)
    {
        var (payload, frames) = s_valid[name];
        AssertComplete(frames, RunIncrementally(() => new RequestParser(), Bytes(payload), segmentPerByte: false));
    }

    [Theory]
    [MemberData(nameof(ValidPayloads))]
    public void Valid_payload_arriving_byte_by_byte_in_separate_segments_yields_the_same_requests(string name)
    {
        var (payload, frames) = s_valid[name];
        var data = Bytes(payload);
        if (data.Length > 4096)
            data = data[..4096]; // O(n^2) segments: the head of a large payload exercises the same paths.
        var outcome = RunIncrementally(() => new RequestParser(), data, segmentPerByte: true);
        if (data.Length == Bytes(payload).Length)
            AssertComplete(frames, outcome);
        else
            Assert.Equal(ParseStatus.NeedMoreData, outcome.Status);
    }

    [Theory]
    [MemberData(nameof(InvalidPayloads))]
    public void Invalid_payload_yields_the_redis_error_however_it_is_segmented(string name)
    {
        var (payload, before, error) = s_invalid[name];
        var data = Bytes(payload);
        AssertInvalid(before, error, Run(new RequestParser(), new ReadOnlySequence<byte>(data)), "one segment");
        foreach (var cut in Cuts(data.Length))
            AssertInvalid(before, error, Run(new RequestParser(), Sequences.SplitAt(data, cut)), $"cut at {cut}");
        AssertInvalid(before, error, Run(new RequestParser(), Sequences.OneBytePerSegment(data)), "one byte per segment");
        AssertInvalid(before, error, RunIncrementally(() => new RequestParser(), data, segmentPerByte: false), "byte by byte");
    }

    [Fact]
    public void Prefix_of_a_request_needs_more_data_and_leaves_the_buffer_alone()
    {
        var data = Bytes("*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n");
        for (var length = 1; length < data.Length; length++)
        {
            var buffer = new ReadOnlySequence<byte>(data, 0, length);
            var status = new RequestParser().TryParse(ref buffer, out _);
            Assert.Equal(ParseStatus.NeedMoreData, status);
            Assert.Equal(length, buffer.Length);
        }
    }

    [Fact]
    public void Empty_buffer_needs_more_data()
    {
        var buffer = ReadOnlySequence<byte>.Empty;
        Assert.Equal(ParseStatus.NeedMoreData, new RequestParser().TryParse(ref buffer, out _));
    }

    [Fact]
    public void Skipped_empty_requests_are_consumed_even_when_the_next_request_is_incomplete()
    {
        var buffer = new ReadOnlySequence<byte>(Bytes("*0\r\n\r\n*1\r\n$4\r\nPI"));
        var status = new RequestParser().TryParse(ref buffer, out _);
        Assert.Equal(ParseStatus.NeedMoreData, status);
        Assert.Equal("*1\r\n$4\r\nPI", s_latin1.GetString(buffer.ToArray()));
    }

    [Fact]
    public void Request_spanning_segments_has_contiguous_arguments()
    {
        var data = Bytes("*3\r\n$3\r\nSET\r\n$6\r\nmy-key\r\n$11\r\nhello world\r\n");
        var cutInsideKey = data.AsSpan().IndexOf("my-"u8) + 3;
        var cutInsideValue = data.AsSpan().IndexOf("hello"u8) + 2;
        var buffer = Sequences.SplitAt(data, cutInsideKey, cutInsideValue);
        var parser = new RequestParser();

        Assert.Equal(ParseStatus.Done, parser.TryParse(ref buffer, out var request));

        Assert.Equal(3, request.Count);
        Assert.True(request.Is(0, "SET"u8));
        Assert.Equal("my-key", request.GetString(1));
        Assert.Equal("hello world"u8.ToArray(), request.ToArray(2));
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Request_spanning_segments_followed_by_one_in_a_single_segment_reads_both_correctly()
    {
        var first = Bytes("*2\r\n$4\r\nECHO\r\n$10\r\n0123456789\r\n");
        var second = Bytes("*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n");
        var buffer = Sequences.FromChunks([first[..20], [.. first[20..], .. second]]);
        var outcome = Run(new RequestParser(), buffer);
        AssertComplete([["ECHO", "0123456789"], ["ECHO", "abc"]], outcome);
    }

    [Fact]
    public void Request_with_more_than_4096_arguments_then_a_small_one_both_parse()
    {
        var sb = new StringBuilder("*4097\r\n");
        for (var i = 0; i < 4097; i++)
            sb.Append("$1\r\n").Append((char)('a' + (i % 26))).Append("\r\n");
        sb.Append("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
        var data = Bytes(sb.ToString());
        var big = Enumerable.Range(0, 4097).Select(i => ((char)('a' + (i % 26))).ToString()).ToArray();
        string[][] frames = [big, ["GET", "k"]];

        AssertComplete(frames, Run(new RequestParser(), new ReadOnlySequence<byte>(data)));
        AssertComplete(frames, Run(new RequestParser(), Sequences.OneBytePerSegment(data)));
        AssertComplete(frames, RunIncrementally(() => new RequestParser(), data, segmentPerByte: false));
        foreach (var cut in Cuts(data.Length, stride: 97))
            AssertComplete(frames, Run(new RequestParser(), Sequences.SplitAt(data, cut)), $"cut at {cut}");
    }

    [Fact]
    public void Parser_reused_after_a_request_parses_the_next_one_from_scratch()
    {
        var parser = new RequestParser();
        var first = new ReadOnlySequence<byte>(Bytes("*2\r\n$3\r\nGET\r\n$1\r\na\r\n"));
        var second = new ReadOnlySequence<byte>(Bytes("SET b c\r\n"));
        Assert.Equal(ParseStatus.Done, parser.TryParse(ref first, out var request));
        Assert.Equal("a", request.GetString(1));
        Assert.Equal(ParseStatus.Done, parser.TryParse(ref second, out request));
        Assert.Equal(["SET", "b", "c"], Args(request));
    }

    [Fact]
    public void Reset_forgets_a_partial_request()
    {
        var parser = new RequestParser();
        var partial = new ReadOnlySequence<byte>(Bytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n"));
        Assert.Equal(ParseStatus.NeedMoreData, parser.TryParse(ref partial, out _));

        parser.Reset();
        var other = new ReadOnlySequence<byte>(Bytes("*1\r\n$4\r\nPING\r\n"));
        Assert.Equal(ParseStatus.Done, parser.TryParse(ref other, out var request));
        Assert.Equal(["PING"], Args(request));
    }

    [Fact]
    public void Reset_clears_the_error()
    {
        var parser = new RequestParser();
        var bad = new ReadOnlySequence<byte>(Bytes("*x\r\n"));
        Assert.Equal(ParseStatus.Invalid, parser.TryParse(ref bad, out _));
        Assert.NotNull(parser.Error);

        parser.Reset();

        Assert.Null(parser.Error);
    }

    [Fact]
    public void Largest_bulk_length_is_accepted()
    {
        Assert.Equal(ParseStatus.NeedMoreData, ParseOnce(new RequestParser(), "*1\r\n$536870912\r\n"));
    }

    [Fact]
    public void Largest_multibulk_count_is_accepted()
    {
        Assert.Equal(ParseStatus.NeedMoreData, ParseOnce(new RequestParser(), "*2147483647\r\n"));
    }

    [Fact]
    public void Inline_request_of_exactly_64_KB_without_newline_needs_more_data()
    {
        Assert.Equal(ParseStatus.NeedMoreData, ParseOnce(new RequestParser(), new string('a', 64 * 1024)));
    }

    [Fact]
    public void Inline_request_of_exactly_64_KB_is_accepted_once_its_newline_arrives()
    {
        var data = Bytes("ECHO " + new string('a', 64 * 1024 - 5) + "\n");
        var outcome = Run(new RequestParser(), new ReadOnlySequence<byte>(data));
        Assert.Equal(ParseStatus.NeedMoreData, outcome.Status);
        Assert.Single(outcome.Frames);
        Assert.Equal(64 * 1024 - 5, outcome.Frames[0][1].Length);
    }

    [Fact]
    public void Unauthenticated_client_may_send_ten_arguments()
    {
        var parser = new RequestParser { Authenticated = false };
        Assert.Equal(ParseStatus.NeedMoreData, ParseOnce(parser, "*10\r\n"));
    }

    [Fact]
    public void Unauthenticated_client_sending_eleven_arguments_gets_unauthenticated_multibulk_length()
    {
        var parser = new RequestParser { Authenticated = false };
        Assert.Equal(ParseStatus.Invalid, ParseOnce(parser, "*11\r\n"));
        Assert.Equal("Protocol error: unauthenticated multibulk length", parser.Error);
    }

    [Fact]
    public void Unauthenticated_client_may_send_a_16_KB_argument()
    {
        var parser = new RequestParser { Authenticated = false };
        Assert.Equal(ParseStatus.NeedMoreData, ParseOnce(parser, "*1\r\n$16384\r\n"));
    }

    [Fact]
    public void Unauthenticated_client_sending_a_larger_argument_gets_unauthenticated_bulk_length()
    {
        var parser = new RequestParser { Authenticated = false };
        Assert.Equal(ParseStatus.Invalid, ParseOnce(parser, "*1\r\n$16385\r\n"));
        Assert.Equal("Protocol error: unauthenticated bulk length", parser.Error);
    }

    [Fact]
    public void Unauthenticated_client_with_an_invalid_count_gets_invalid_multibulk_length_first()
    {
        var parser = new RequestParser { Authenticated = false };
        Assert.Equal(ParseStatus.Invalid, ParseOnce(parser, "*3000000000\r\n"));
        Assert.Equal("Protocol error: invalid multibulk length", parser.Error);
    }

    [Fact]
    public void Authenticated_client_may_send_more_than_ten_arguments()
    {
        var parser = new RequestParser { Authenticated = false };
        parser.Authenticated = true;
        Assert.Equal(ParseStatus.NeedMoreData, ParseOnce(parser, "*11\r\n$16385\r\n"));
    }

    [Fact]
    public void Custom_bulk_limit_refuses_a_longer_argument()
    {
        var parser = new RequestParser(new RespLimits { MaxBulkLength = 10 });
        Assert.Equal(ParseStatus.NeedMoreData, ParseOnce(parser, "*1\r\n$10\r\n"));
        parser.Reset();
        Assert.Equal(ParseStatus.Invalid, ParseOnce(parser, "*1\r\n$11\r\n"));
        Assert.Equal("Protocol error: invalid bulk length", parser.Error);
    }

    [Fact]
    public void Custom_multibulk_limit_refuses_more_arguments()
    {
        var parser = new RequestParser(new RespLimits { MaxMultiBulkLength = 3 });
        Assert.Equal(ParseStatus.NeedMoreData, ParseOnce(parser, "*3\r\n"));
        parser.Reset();
        Assert.Equal(ParseStatus.Invalid, ParseOnce(parser, "*4\r\n"));
        Assert.Equal("Protocol error: invalid multibulk length", parser.Error);
    }

    [Fact]
    public void Custom_inline_limit_refuses_a_longer_line()
    {
        var parser = new RequestParser(new RespLimits { MaxInlineLength = 16 });
        Assert.Equal(ParseStatus.NeedMoreData, ParseOnce(parser, new string('a', 16)));
        Assert.Equal(ParseStatus.Invalid, ParseOnce(parser, new string('a', 17)));
        Assert.Equal("Protocol error: too big inline request", parser.Error);
    }

    [Fact]
    public void Custom_inline_limit_bounds_header_lines_whatever_the_segmentation()
    {
        // With an 8-byte limit "*1234567" (8 bytes) is a header of the largest allowed length: its CR arriving
        // without the LF must not be mistaken for an overlong line.
        var limits = new RespLimits { MaxInlineLength = 8 };
        var data = Bytes("*1234567\r");
        Assert.Equal(ParseStatus.NeedMoreData, ParseOnce(new RequestParser(limits), "*1234567\r"));
        Assert.Equal(ParseStatus.NeedMoreData, Run(new RequestParser(limits), Sequences.OneBytePerSegment(data)).Status);
        var tooLong = Bytes("*12345678\r\n");
        foreach (var buffer in new[] { new ReadOnlySequence<byte>(tooLong), Sequences.OneBytePerSegment(tooLong) })
        {
            var outcome = Run(new RequestParser(limits), buffer);
            Assert.Equal(ParseStatus.Invalid, outcome.Status);
            Assert.Equal("Protocol error: too big mbulk count string", outcome.Error);
        }
    }

    [Fact]
    public void Request_larger_than_the_query_buffer_limit_closes_without_a_reply()
    {
        var limits = new RespLimits { MaxQueryBuffer = 1024 };
        var data = Bytes("*2\r\n$4\r\nECHO\r\n$2000\r\n" + new string('x', 2000) + "\r\n");

        var whole = Run(new RequestParser(limits), new ReadOnlySequence<byte>(data));
        var split = Run(new RequestParser(limits), Sequences.SplitAt(data, 30, 600));
        var incremental = RunIncrementally(() => new RequestParser(limits), data, segmentPerByte: false);

        foreach (var outcome in new[] { whole, split, incremental })
        {
            Assert.Equal(ParseStatus.Invalid, outcome.Status);
            Assert.Null(outcome.Error);
            Assert.Empty(outcome.Frames);
        }
    }

    [Fact]
    public void Incomplete_request_growing_past_the_query_buffer_limit_closes_without_a_reply()
    {
        var limits = new RespLimits { MaxQueryBuffer = 1024 };
        var parser = new RequestParser(limits);
        var head = "*2\r\n$4\r\nECHO\r\n$100000\r\n";
        Assert.Equal(ParseStatus.NeedMoreData, ParseOnce(parser, head + new string('x', 1000)));
        Assert.Equal(ParseStatus.Invalid, ParseOnce(parser, head + new string('x', 1100)));
        Assert.Null(parser.Error);
    }

    [Fact]
    public void Request_within_the_query_buffer_limit_is_accepted()
    {
        var limits = new RespLimits { MaxQueryBuffer = 1024 };
        var data = Bytes("*2\r\n$4\r\nECHO\r\n$900\r\n" + new string('x', 900) + "\r\n");
        var outcome = RunIncrementally(() => new RequestParser(limits), data, segmentPerByte: false);
        Assert.Equal(ParseStatus.NeedMoreData, outcome.Status);
        Assert.Single(outcome.Frames);
    }

    [Fact]
    public void Request_too_large_for_one_array_closes_without_a_reply_even_under_a_larger_configured_limit()
    {
        // CONFIG SET can raise proto-max-bulk-len and client-query-buffer-limit past what an array holds.
        var limits = new RespLimits { MaxBulkLength = 4L << 30, MaxQueryBuffer = 8L << 30 };
        var block = new byte[64 << 20];
        const long Size = 2_200_000_000;
        var head = Bytes($"*1\r\n${Size}\r\n");

        var complete = Sequences.Repeat(head, block, Size, Bytes("\r\n"));
        var parser = new RequestParser(limits);
        Assert.Equal(ParseStatus.Invalid, parser.TryParse(ref complete, out _));
        Assert.Null(parser.Error);

        var partial = Sequences.Repeat(head, block, Size - 50_000_000, []);
        parser = new RequestParser(limits);
        Assert.Equal(ParseStatus.Invalid, parser.TryParse(ref partial, out _));
        Assert.Null(parser.Error);
    }

    [Fact]
    public void Limits_cannot_be_set_to_null()
    {
        var parser = new RequestParser();
        Assert.Throws<ArgumentNullException>(() => parser.Limits = null!);
    }

    [Fact]
    public void Request_argument_comparison_ignores_ascii_case()
    {
        var buffer = new ReadOnlySequence<byte>(Bytes("gEt key\r\n"));
        Assert.Equal(ParseStatus.Done, new RequestParser().TryParse(ref buffer, out var request));
        Assert.True(request.Is(0, "GET"u8));
        Assert.False(request.Is(0, "SET"u8));
        Assert.False(request.Is(0, "GETS"u8));
    }

    // ---- helpers ----

    private sealed record Outcome(List<string[]> Frames, ParseStatus Status, string? Error, long Remaining);

    private static (string, string[][]) LargeArgument(int size)
    {
        var random = new Random(42);
        var value = new byte[size];
        random.NextBytes(value);
        var text = s_latin1.GetString(value);
        return ($"*2\r\n$4\r\nECHO\r\n${size}\r\n{text}\r\n", [["ECHO", text]]);
    }

    private static (string, string[][]) ManyArguments(int count)
    {
        var args = new string[count + 1];
        args[0] = "RPUSH";
        var sb = new StringBuilder($"*{count + 1}\r\n$5\r\nRPUSH\r\n");
        for (var i = 1; i <= count; i++)
        {
            args[i] = new string((char)('a' + (i % 26)), i % 7);
            sb.Append('$').Append(args[i].Length).Append("\r\n").Append(args[i]).Append("\r\n");
        }

        return (sb.ToString(), [args]);
    }

    private static byte[] Bytes(string latin1) => s_latin1.GetBytes(latin1);

    private static string[] Args(RespRequest request)
    {
        var args = new string[request.Count];
        for (var i = 0; i < args.Length; i++)
            args[i] = s_latin1.GetString(request[i]);
        return args;
    }

    private static ParseStatus ParseOnce(RequestParser parser, string payload)
    {
        var buffer = new ReadOnlySequence<byte>(Bytes(payload));
        return parser.TryParse(ref buffer, out _);
    }

    private static Outcome Run(RequestParser parser, ReadOnlySequence<byte> buffer)
    {
        var frames = new List<string[]>();
        while (true)
        {
            var status = parser.TryParse(ref buffer, out var request);
            if (status != ParseStatus.Done)
                return new Outcome(frames, status, parser.Error, buffer.Length);
            frames.Add(Args(request));
        }
    }

    // Feeds data as a pipe delivers it: one more byte at a time, each call starting where the previous one
    // left the buffer (the consumed position a reader passes to AdvanceTo).
    private static Outcome RunIncrementally(Func<RequestParser> create, byte[] data, bool segmentPerByte)
    {
        var parser = create();
        var frames = new List<string[]>();
        var consumed = 0;
        for (var available = 1; available <= data.Length; available++)
        {
            while (true)
            {
                var buffer = segmentPerByte
                    ? Sequences.OneBytePerSegment(data, consumed, available)
                    : new ReadOnlySequence<byte>(data, consumed, available - consumed);
                var fed = buffer.Length;
                var status = parser.TryParse(ref buffer, out var request);
                var advanced = (int)(fed - buffer.Length);
                if (status == ParseStatus.Done)
                {
                    frames.Add(Args(request));
                    consumed += advanced;
                    continue;
                }

                if (status == ParseStatus.Invalid)
                    return new Outcome(frames, status, parser.Error, data.Length - consumed);

                // Waiting for more data: the buffer may only have moved past whole empty requests.
                AssertOnlyEmptyRequests(data[consumed..(consumed + advanced)]);
                consumed += advanced;
                break;
            }
        }

        return new Outcome(frames, ParseStatus.NeedMoreData, parser.Error, data.Length - consumed);
    }

    private static void AssertOnlyEmptyRequests(byte[] skipped)
    {
        var buffer = new ReadOnlySequence<byte>(skipped);
        Assert.Equal(ParseStatus.NeedMoreData, new RequestParser().TryParse(ref buffer, out _));
        Assert.True(buffer.IsEmpty, $"NeedMoreData consumed part of a request: '{Describe(skipped)}'");
    }

    private static IEnumerable<int> Cuts(int length, int stride = 1)
    {
        // Every boundary for payloads up to 25 KB; beyond that every boundary near either end and a stride between.
        if (length <= 25_000 && stride == 1)
        {
            for (var cut = 1; cut < length; cut++)
                yield return cut;
            yield break;
        }

        stride = Math.Max(stride, 97);
        for (var cut = 1; cut < length; cut++)
        {
            if (cut < 64 || cut > length - 64 || cut % stride == 0)
                yield return cut;
        }
    }

    private static void AssertComplete(IReadOnlyList<string[]> expected, Outcome outcome, string? context = null)
    {
        Assert.True(outcome.Status == ParseStatus.NeedMoreData, $"{context}: status {outcome.Status}, error {outcome.Error}");
        Assert.Equal(Describe(expected), Describe(outcome.Frames));
        Assert.True(outcome.Remaining == 0, $"{context}: {outcome.Remaining} bytes left over");
    }

    private static void AssertInvalid(IReadOnlyList<string[]> before, string error, Outcome outcome, string context)
    {
        Assert.True(outcome.Status == ParseStatus.Invalid, $"{context}: status {outcome.Status}");
        Assert.Equal(error, outcome.Error);
        Assert.Equal(Describe(before), Describe(outcome.Frames));
    }

    private static string Describe(IReadOnlyList<string[]> frames) =>
        string.Join(" | ", frames.Select(f => string.Join(" ", f.Select(a => Describe(s_latin1.GetBytes(a))))));

    private static string Describe(byte[] bytes)
    {
        if (bytes.Length > 64)
            return $"<{bytes.Length} bytes, hash {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes))[..12]}>";
        var sb = new StringBuilder("\"");
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and < 0x7f and not (byte)'"' and not (byte)'\\')
                sb.Append((char)b);
            else
                sb.Append($"\\x{b:x2}");
        }

        return sb.Append('"').ToString();
    }
}

using System.Buffers;

namespace Estoraje.Resp;

/// <summary>
/// Frames client requests (RESP multibulk and inline commands) from a connection's buffer, one per call.
/// One instance per connection: it keeps the progress of a request that is not complete yet, so a large
/// request arriving in many reads is scanned once, and it owns the scratch memory used when a request
/// spans buffer segments.
/// </summary>
/// <remarks>
/// Error texts and limits follow Redis 7 (<c>networking.c</c>): an invalid request yields
/// <see cref="ParseStatus.Invalid"/> with <see cref="Error"/> holding the exact <c>Protocol error: ...</c>
/// text, and the connection must then be closed.
/// </remarks>
public sealed class RequestParser
{
    private const byte Cr = (byte)'\r';
    private const byte Lf = (byte)'\n';
    private const int ShrinkAbove = 4096;

    private RespLimits _limits;
    private ArgSlot[] _args = new ArgSlot[16];
    private int _argCount;

    // Progress of the multibulk request in progress: element count (-1 before its header is read) and
    // the offset, from the request's first byte, of the next element header.
    private long _expected = -1;
    private long _offset;
    private byte[] _scratch = [];

    /// <summary>Creates a parser with <paramref name="limits"/> (Redis's defaults when null).</summary>
    public RequestParser(RespLimits? limits = null) => _limits = limits ?? RespLimits.Default;

    /// <summary>The limits in force (CONFIG SET may change them between requests).</summary>
    public RespLimits Limits
    {
        get => _limits;
        set => _limits = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>
    /// When false, requests larger than an unauthenticated client may send are refused, as Redis does
    /// while <c>requirepass</c> is set and the client has not authenticated.
    /// </summary>
    public bool Authenticated { get; set; } = true;

    /// <summary>
    /// After <see cref="ParseStatus.Invalid"/>: the error text to send (without '-' and CRLF), or null when
    /// the connection must close without a reply (query buffer limit, as Redis).
    /// </summary>
    public string? Error { get; private set; }

    /// <summary>
    /// Frames the next request at the start of <paramref name="buffer"/>. On <see cref="ParseStatus.Done"/>
    /// the buffer is advanced past it and <paramref name="request"/> is valid until the next call or until
    /// the underlying memory is released. On <see cref="ParseStatus.NeedMoreData"/> the buffer is advanced only
    /// past the empty requests it skipped (<c>*0</c>, blank lines): call again from that start with more data.
    /// </summary>
    /// <param name="buffer">Unconsumed input of the connection.</param>
    /// <param name="request">The framed request.</param>
    public ParseStatus TryParse(ref ReadOnlySequence<byte> buffer, out RespRequest request)
    {
        request = default;
        if (_expected < 0 && buffer.IsSingleSegment && TryParseWhole(buffer.FirstSpan, out var whole))
        {
            request = new RespRequest(buffer.FirstSpan, _args.AsSpan(0, _argCount));
            ResetFrame();
            buffer = buffer.Slice(whole);
            return ParseStatus.Done;
        }

        while (!buffer.IsEmpty)
        {
            var inline = FirstByte(buffer) != (byte)'*';
            var status = inline ? ParseInline(buffer, out var length) : ParseMultiBulk(buffer, out length);
            if (status == ParseStatus.NeedMoreData)
            {
                if (buffer.Length > _limits.MaxQueryBuffer || buffer.Length > Array.MaxLength)
                    return Fail(null);
                return status;
            }

            if (status == ParseStatus.Invalid)
                return status;

            var count = _argCount;
            ResetFrame();
            if (count == 0)
            {
                buffer = buffer.Slice(length);
                continue;
            }

            ReadOnlySpan<byte> data;
            if (inline)
            {
                data = _scratch;
            }
            else if (length <= buffer.FirstSpan.Length)
            {
                data = buffer.FirstSpan;
            }
            else
            {
                // The request spans segments: one copy into owned scratch keeps arguments contiguous.
                var frame = buffer.Slice(0, length);
                EnsureScratch(length);
                frame.CopyTo(_scratch);
                data = _scratch;
            }

            request = new RespRequest(data, _args.AsSpan(0, count));
            buffer = buffer.Slice(length);
            return ParseStatus.Done;
        }

        return ParseStatus.NeedMoreData;
    }

    /// <summary>Forgets any partial request (the next buffer starts a new one).</summary>
    public void Reset()
    {
        ResetFrame();
        Error = null;
    }

    private void ResetFrame()
    {
        _argCount = 0;
        _expected = -1;
        _offset = 0;
    }

    private ParseStatus ParseMultiBulk(ReadOnlySequence<byte> buffer, out long length)
    {
        length = 0;
        var reader = new SequenceReader<byte>(buffer);
        if (_expected < 0)
        {
            var line = ReadLine(ref reader, out var header);
            if (line != LineStatus.Found)
                return line == LineStatus.TooLong ? Fail("Protocol error: too big mbulk count string") : ParseStatus.NeedMoreData;

            if (!RespInteger.TryParse(header[1..], out var count) || count > _limits.MaxMultiBulkLength)
                return Fail("Protocol error: invalid multibulk length");
            if (!Authenticated && count > _limits.MaxUnauthenticatedMultiBulkLength)
                return Fail("Protocol error: unauthenticated multibulk length");

            if (count <= 0)
            {
                length = reader.Consumed;
                return ParseStatus.Done;
            }

            if (_args.Length > ShrinkAbove && count <= ShrinkAbove)
                _args = new ArgSlot[16];
            _expected = count;
            _offset = reader.Consumed;
        }
        else
        {
            reader.Advance(_offset);
        }

        while (_argCount < _expected)
        {
            var line = ReadLine(ref reader, out var header);
            if (line != LineStatus.Found)
                return line == LineStatus.TooLong ? Fail("Protocol error: too big bulk count string") : ParseStatus.NeedMoreData;

            if (header.IsEmpty || header[0] != (byte)'$')
                return Fail($"Protocol error: expected '$', got '{(header.IsEmpty ? '\r' : (char)header[0])}'");
            if (!RespInteger.TryParse(header[1..], out var bulk) || bulk < 0 || bulk > _limits.MaxBulkLength)
                return Fail("Protocol error: invalid bulk length");
            if (!Authenticated && bulk > _limits.MaxUnauthenticatedBulkLength)
                return Fail("Protocol error: unauthenticated bulk length");

            if (reader.Remaining < bulk + 2)
                return ParseStatus.NeedMoreData;
            // Whatever limit CONFIG SET allows, a request must fit the arrays that hold it (scratch, argument offsets).
            if (reader.Consumed + bulk > _limits.MaxQueryBuffer || reader.Consumed + bulk + 2 > Array.MaxLength)
                return Fail(null);

            AddArg(reader.Consumed, bulk);
            // Like Redis, the two bytes after the payload are taken as CRLF without being checked.
            reader.Advance(bulk + 2);
            _offset = reader.Consumed;
        }

        length = _offset;
        return ParseStatus.Done;
    }

    // The common case in one pass over a span: a whole, well-formed multibulk request of plain decimal lengths within
    // the limits, at the start of the data. Anything else (a partial or empty request, a malformed or oversized one)
    // returns false having framed nothing, and goes the general way, which has every error and limit.
    private bool TryParseWhole(ReadOnlySpan<byte> data, out int length)
    {
        length = 0;
        var at = 1;
        if (data.IsEmpty || data[0] != (byte)'*' || !TryReadLength(data, ref at, out var count) || count == 0 ||
            count > _limits.MaxMultiBulkLength || (!Authenticated && count > _limits.MaxUnauthenticatedMultiBulkLength) ||
            (_args.Length > ShrinkAbove && count <= ShrinkAbove))
            return false;

        var maxBulk = Authenticated ? _limits.MaxBulkLength : Math.Min(_limits.MaxBulkLength, _limits.MaxUnauthenticatedBulkLength);
        for (var i = 0; i < count; i++)
        {
            var bulk = 0L;
            if (at >= data.Length || data[at++] != (byte)'$' || !TryReadLength(data, ref at, out bulk) ||
                bulk > maxBulk || data.Length - at < bulk + 2 || at + bulk > _limits.MaxQueryBuffer)
            {
                _argCount = 0;
                return false;
            }

            AddArg(at, bulk);
            at += (int)bulk + 2;
        }

        length = at;
        return true;
    }

    // Digits then CRLF at data[at..] (at most 18 digits, so no overflow), as Redis's string2ll takes them; at moves
    // past the CRLF.
    private static bool TryReadLength(ReadOnlySpan<byte> data, ref int at, out long value)
    {
        value = 0;
        var start = at;
        while (at < data.Length && at - start < 18 && (uint)(data[at] - '0') <= 9)
            value = value * 10 + (data[at++] - '0');
        // A leading zero ("01") is Redis's protocol error: the general way reports it.
        if (at == start || (data[start] == '0' && at - start > 1) || data.Length - at < 2 || data[at] != Cr || data[at + 1] != Lf)
            return false;
        at += 2;
        return true;
    }

    private ParseStatus ParseInline(ReadOnlySequence<byte> buffer, out long length)
    {
        length = 0;
        var window = buffer.Length > _limits.MaxInlineLength + 1 ? buffer.Slice(0, _limits.MaxInlineLength + 1) : buffer;
        var newline = window.PositionOf(Lf);
        if (newline is null)
            return buffer.Length > _limits.MaxInlineLength ? Fail("Protocol error: too big inline request") : ParseStatus.NeedMoreData;

        var line = buffer.Slice(0, newline.Value);
        length = line.Length + 1;
        var size = (int)line.Length;
        EnsureScratch(size);
        line.CopyTo(_scratch);
        if (size > 0 && _scratch[size - 1] == Cr)
            size--;

        return SplitInline(size) ? ParseStatus.Done : Fail("Protocol error: unbalanced quotes in request");
    }

    // Splits the line held in _scratch[0..size) into arguments the way Redis's sdssplitargs does: spaces
    // separate, "double quotes" take \n \r \t \b \a \xHH escapes, 'single quotes' take only \'. Arguments are
    // unescaped in place: the write position never passes the read position.
    private bool SplitInline(int size)
    {
        var s = _scratch;
        var end = Array.IndexOf(s, (byte)0, 0, size);
        if (end < 0)
            end = size;

        var p = 0;
        var w = 0;
        while (true)
        {
            while (p < end && IsSpace(s[p]))
                p++;
            if (p >= end)
                return true;

            var start = w;
            var inDouble = false;
            var inSingle = false;
            var done = false;
            while (!done)
            {
                if (inDouble)
                {
                    if (p >= end)
                        return false;
                    if (s[p] == (byte)'\\' && p + 3 < end && s[p + 1] == (byte)'x' && IsHex(s[p + 2]) && IsHex(s[p + 3]))
                    {
                        s[w++] = (byte)((HexValue(s[p + 2]) << 4) | HexValue(s[p + 3]));
                        p += 3;
                    }
                    else if (s[p] == (byte)'\\' && p + 1 < end)
                    {
                        p++;
                        s[w++] = s[p] switch
                        {
                            (byte)'n' => (byte)'\n',
                            (byte)'r' => (byte)'\r',
                            (byte)'t' => (byte)'\t',
                            (byte)'b' => (byte)'\b',
                            (byte)'a' => (byte)'\a',
                            var c => c,
                        };
                    }
                    else if (s[p] == (byte)'"')
                    {
                        if (p + 1 < end && !IsSpace(s[p + 1]))
                            return false;
                        done = true;
                    }
                    else
                    {
                        s[w++] = s[p];
                    }
                }
                else if (inSingle)
                {
                    if (p >= end)
                        return false;
                    if (s[p] == (byte)'\\' && p + 1 < end && s[p + 1] == (byte)'\'')
                    {
                        p++;
                        s[w++] = (byte)'\'';
                    }
                    else if (s[p] == (byte)'\'')
                    {
                        if (p + 1 < end && !IsSpace(s[p + 1]))
                            return false;
                        done = true;
                    }
                    else
                    {
                        s[w++] = s[p];
                    }
                }
                else if (p >= end || s[p] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
                {
                    // Unlike the blanks between arguments (isspace), only these end an unquoted one: "a\vb" is one.
                    done = true;
                }
                else if (s[p] == (byte)'"')
                {
                    inDouble = true;
                }
                else if (s[p] == (byte)'\'')
                {
                    inSingle = true;
                }
                else
                {
                    s[w++] = s[p];
                }

                if (p < end)
                    p++;
            }

            AddArg(start, w - start);
        }
    }

    // A sequence may start with an empty segment.
    private static byte FirstByte(in ReadOnlySequence<byte> buffer)
    {
        foreach (var memory in buffer)
        {
            if (!memory.IsEmpty)
                return memory.Span[0];
        }

        throw new ArgumentException("The buffer is empty.", nameof(buffer));
    }

    private static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f';

    private static bool IsHex(byte c) => char.IsAsciiHexDigit((char)c);

    private static int HexValue(byte c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private enum LineStatus
    {
        Found,
        NeedMore,
        TooLong,
    }

    // Reads a header line up to '\r', then skips it and the byte after it (Redis does not check that it is '\n').
    // A line longer than MaxInlineLength is too long whether or not its '\r' has arrived, so the verdict does not
    // depend on how the input was segmented.
    private LineStatus ReadLine(ref SequenceReader<byte> reader, out ReadOnlySpan<byte> line)
    {
        var max = _limits.MaxInlineLength;
        var span = reader.UnreadSpan;
        var cr = span.IndexOf(Cr);
        if (cr >= 0 && cr + 1 < span.Length)
        {
            line = span[..cr];
            if (cr > max)
                return LineStatus.TooLong;
            reader.Advance(cr + 2);
            return LineStatus.Found;
        }

        // Slow path: the line crosses a segment boundary. A line short enough has its '\r' in the first max + 1 bytes.
        line = default;
        var window = new SequenceReader<byte>(reader.UnreadSequence.Slice(0, Math.Min(reader.Remaining, max + 1L)));
        if (!window.TryReadTo(out ReadOnlySpan<byte> found, Cr, advancePastDelimiter: true))
            return reader.Remaining > max ? LineStatus.TooLong : LineStatus.NeedMore;
        if (reader.Remaining <= window.Consumed)
            return LineStatus.NeedMore;

        line = found;
        reader.Advance(window.Consumed + 1);
        return LineStatus.Found;
    }

    private void AddArg(long start, long length)
    {
        if (_argCount == _args.Length)
            Array.Resize(ref _args, _args.Length * 2);
        _args[_argCount++] = new ArgSlot(checked((int)start), checked((int)length));
    }

    private void EnsureScratch(long length)
    {
        if (_scratch.Length < length)
            _scratch = new byte[Math.Max(checked((int)length), Math.Min(_scratch.Length * 2, Array.MaxLength))];
    }

    private ParseStatus Fail(string? error)
    {
        Error = error;
        ResetFrame();
        return ParseStatus.Invalid;
    }
}

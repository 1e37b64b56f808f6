using System.Buffers;
using System.Globalization;
using System.Text;

namespace Estoraje.Resp;

/// <summary>
/// Writes RESP replies straight into an <see cref="IBufferWriter{T}"/> (the connection's output pipe).
/// The protocol version (2 or 3, chosen by <c>HELLO</c>) decides how RESP3-only types are written: in
/// RESP2 a map becomes a flat array, a double a bulk string, a boolean an integer, a null <c>$-1</c>.
/// </summary>
public sealed class RespWriter
{
    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    private IBufferWriter<byte> _output;
    private long _written;

    /// <summary>Creates a writer over <paramref name="output"/>, speaking RESP2.</summary>
    public RespWriter(IBufferWriter<byte> output) => _output = output;

    /// <summary>Protocol version of the connection: 2 or 3.</summary>
    public int Protocol { get; set; } = 2;

    /// <summary>Whether RESP3 types are written as themselves.</summary>
    public bool IsResp3 => Protocol >= 3;

    /// <summary>The buffer written to.</summary>
    public IBufferWriter<byte> Output
    {
        get => _output;
        set => _output = value;
    }

    /// <summary>Bytes written so far: lets a caller tell whether a reply was started.</summary>
    public long BytesWritten => _written;

    /// <summary>Copies pre-encoded RESP (a canned reply such as <c>+OK\r\n</c>).</summary>
    public void WriteRaw(ReadOnlySpan<byte> encoded)
    {
        var span = _output.GetSpan(encoded.Length);
        encoded.CopyTo(span);
        Advance(encoded.Length);
    }

    /// <summary><c>+OK</c>.</summary>
    public void WriteOk() => WriteRaw("+OK\r\n"u8);

    /// <summary>A simple string (<c>+text</c>); the text must not hold CR or LF.</summary>
    public void WriteSimpleString(ReadOnlySpan<byte> text) => WriteLine((byte)'+', text);

    /// <summary>A simple string from ASCII text.</summary>
    public void WriteSimpleString(string text) => WriteLine((byte)'+', text);

    /// <summary>An error (<c>-ERR text</c>): the text starts with its code; CR and LF become spaces, as Redis does.</summary>
    public void WriteError(string text) => WriteLine((byte)'-', text);

    /// <summary>An integer (<c>:n</c>).</summary>
    public void WriteInteger(long value)
    {
        var span = _output.GetSpan(24);
        span[0] = (byte)':';
        var n = 1 + FormatInt64(value, span[1..]);
        span[n++] = (byte)'\r';
        span[n++] = (byte)'\n';
        Advance(n);
    }

    /// <summary>A bulk string.</summary>
    public void WriteBulkString(ReadOnlySpan<byte> value)
    {
        WriteLength((byte)'$', value.Length);
        WritePayload(value);
    }

    /// <summary>A bulk string holding <paramref name="value"/> as UTF-8.</summary>
    public void WriteBulkString(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteLength((byte)'$', length);
        var span = _output.GetSpan(length + 2);
        Encoding.UTF8.GetBytes(value, span);
        span[length] = (byte)'\r';
        span[length + 1] = (byte)'\n';
        Advance(length + 2);
    }

    /// <summary>A bulk string holding the decimal text of <paramref name="value"/>.</summary>
    public void WriteBulkString(long value)
    {
        Span<byte> text = stackalloc byte[20];
        var n = FormatInt64(value, text);
        WriteBulkString(text[..n]);
    }

    /// <summary>The null reply: <c>$-1</c> in RESP2, <c>_</c> in RESP3.</summary>
    public void WriteNull() => WriteRaw(IsResp3 ? "_\r\n"u8 : "$-1\r\n"u8);

    /// <summary>The null array: <c>*-1</c> in RESP2, <c>_</c> in RESP3.</summary>
    public void WriteNullArray() => WriteRaw(IsResp3 ? "_\r\n"u8 : "*-1\r\n"u8);

    /// <summary>An array header for <paramref name="count"/> elements.</summary>
    public void WriteArrayHeader(int count) => WriteLength((byte)'*', count);

    /// <summary>A map header for <paramref name="pairs"/> key/value pairs (a flat array in RESP2).</summary>
    public void WriteMapHeader(int pairs)
    {
        if (IsResp3)
            WriteLength((byte)'%', pairs);
        else
            WriteLength((byte)'*', pairs * 2);
    }

    /// <summary>A set header (an array in RESP2).</summary>
    public void WriteSetHeader(int count) => WriteLength(IsResp3 ? (byte)'~' : (byte)'*', count);

    /// <summary>A push header (out-of-band data such as pub/sub messages; an array in RESP2).</summary>
    public void WritePushHeader(int count) => WriteLength(IsResp3 ? (byte)'>' : (byte)'*', count);

    /// <summary>An attribute header (RESP3 only; callers skip attributes in RESP2).</summary>
    public void WriteAttributeHeader(int pairs) => WriteLength((byte)'|', pairs);

    /// <summary>A boolean: <c>#t</c>/<c>#f</c> in RESP3, <c>:1</c>/<c>:0</c> in RESP2.</summary>
    public void WriteBoolean(bool value)
    {
        if (IsResp3)
            WriteRaw(value ? "#t\r\n"u8 : "#f\r\n"u8);
        else
            WriteRaw(value ? ":1\r\n"u8 : ":0\r\n"u8);
    }

    /// <summary>A double: <c>,1.5</c> in RESP3, a bulk string in RESP2, formatted as <see cref="FormatDouble"/> does.</summary>
    public void WriteDouble(double value)
    {
        Span<byte> text = stackalloc byte[40];
        var n = FormatDouble(value, text);
        if (IsResp3)
            WriteLine((byte)',', text[..n]);
        else
            WriteBulkString(text[..n]);
    }

    /// <summary>A big number: <c>(digits</c> in RESP3, a bulk string in RESP2.</summary>
    public void WriteBigNumber(ReadOnlySpan<byte> digits)
    {
        if (IsResp3)
            WriteLine((byte)'(', digits);
        else
            WriteBulkString(digits);
    }

    /// <summary>A verbatim string with a three-letter format (<c>txt</c>, <c>mkd</c>): <c>=</c> in RESP3, a bulk string in RESP2.</summary>
    public void WriteVerbatimString(string format, ReadOnlySpan<byte> text)
    {
        if (format.Length != 3)
            throw new ArgumentException("The format of a verbatim string has three characters.", nameof(format));
        if (!IsResp3)
        {
            WriteBulkString(text);
            return;
        }

        WriteLength((byte)'=', text.Length + 4);
        var span = _output.GetSpan(4);
        Encoding.ASCII.GetBytes(format, span);
        span[3] = (byte)':';
        Advance(4);
        WritePayload(text);
    }

    private void Advance(int count)
    {
        _output.Advance(count);
        _written += count;
    }

    /// <summary>Formats an integer as ASCII decimal digits; returns the byte count (at most 20).</summary>
    public static int FormatInt64(long value, Span<byte> destination)
    {
        value.TryFormat(destination, out var written, default, CultureInfo.InvariantCulture);
        return written;
    }

    /// <summary>
    /// Formats a double the way Redis 7.2 replies with one (<c>d2string</c>): <c>inf</c>, <c>-inf</c>, <c>nan</c>,
    /// <c>0</c> and <c>-0</c>; integral values up to 2^62 as integers; otherwise the shortest digits that read back
    /// as the same value, laid out as <c>fpconv_dtoa</c> does (<c>1e+20</c>, <c>0.00001</c>, <c>1.5e-7</c>).
    /// Returns the byte count (at most 25).
    /// </summary>
    public static int FormatDouble(double value, Span<byte> destination)
    {
        if (double.IsPositiveInfinity(value))
            return Copy("inf"u8, destination);
        if (double.IsNegativeInfinity(value))
            return Copy("-inf"u8, destination);
        if (double.IsNaN(value))
            return Copy("nan"u8, destination);
        if (value == 0)
            return Copy(double.IsNegative(value) ? "-0"u8 : "0"u8, destination);
        if (Math.Abs(value) <= 4611686018427387904.0 && value == Math.Truncate(value))
            return FormatInt64((long)value, destination);

        // Shortest round-trip digits and the power of ten of the last one: value = ±digits × 10^k.
        Span<byte> text = stackalloc byte[32];
        Math.Abs(value).TryFormat(text, out var length, "R", CultureInfo.InvariantCulture);
        var e = text[..length].IndexOfAny((byte)'E', (byte)'e');
        var k = 0;
        if (e >= 0)
        {
            k = int.Parse(text[(e + 1)..length], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            length = e;
        }

        Span<byte> digits = stackalloc byte[24];
        var count = 0;
        var afterPoint = false;
        foreach (var c in text[..length])
        {
            if (c == (byte)'.')
            {
                afterPoint = true;
                continue;
            }

            if (afterPoint)
                k--;
            if (count > 0 || c != (byte)'0')
                digits[count++] = c;
        }

        while (count > 1 && digits[count - 1] == (byte)'0')
        {
            count--;
            k++;
        }

        var n = 0;
        if (value < 0)
            destination[n++] = (byte)'-';
        var exponent = Math.Abs(k + count - 1);
        if (k >= 0 && exponent < count + 7)
        {
            // Plain integer.
            digits[..count].CopyTo(destination[n..]);
            n += count;
            destination.Slice(n, k).Fill((byte)'0');
            return n + k;
        }

        if (k < 0 && (k > -7 || exponent < 4))
        {
            // Plain decimal.
            var integral = count + k;
            if (integral <= 0)
            {
                destination[n++] = (byte)'0';
                destination[n++] = (byte)'.';
                destination.Slice(n, -integral).Fill((byte)'0');
                n += -integral;
                digits[..count].CopyTo(destination[n..]);
                return n + count;
            }

            digits[..integral].CopyTo(destination[n..]);
            n += integral;
            destination[n++] = (byte)'.';
            digits[integral..count].CopyTo(destination[n..]);
            return n + count - integral;
        }

        // Scientific: d.ddde±x, the exponent without leading zeros.
        destination[n++] = digits[0];
        if (count > 1)
        {
            destination[n++] = (byte)'.';
            digits[1..count].CopyTo(destination[n..]);
            n += count - 1;
        }

        destination[n++] = (byte)'e';
        destination[n++] = k + count - 1 < 0 ? (byte)'-' : (byte)'+';
        return n + FormatInt64(exponent, destination[n..]);

        static int Copy(ReadOnlySpan<byte> text, Span<byte> destination)
        {
            text.CopyTo(destination);
            return text.Length;
        }
    }

    private void WriteLength(byte prefix, long length)
    {
        var span = _output.GetSpan(24);
        span[0] = prefix;
        var n = 1 + FormatInt64(length, span[1..]);
        span[n++] = (byte)'\r';
        span[n++] = (byte)'\n';
        Advance(n);
    }

    private void WritePayload(ReadOnlySpan<byte> value)
    {
        // Large values go in chunks so the output never has to provide one huge contiguous span.
        while (value.Length > 0)
        {
            var span = _output.GetSpan(Math.Min(value.Length, 64 * 1024));
            var n = Math.Min(span.Length, value.Length);
            value[..n].CopyTo(span);
            Advance(n);
            value = value[n..];
        }

        WriteRaw(Crlf);
    }

    private void WriteLine(byte prefix, ReadOnlySpan<byte> text)
    {
        var span = _output.GetSpan(text.Length + 3);
        span[0] = prefix;
        text.CopyTo(span[1..]);
        for (var i = 1; i <= text.Length; i++)
        {
            if (span[i] is (byte)'\r' or (byte)'\n')
                span[i] = (byte)' ';
        }

        span[text.Length + 1] = (byte)'\r';
        span[text.Length + 2] = (byte)'\n';
        Advance(text.Length + 3);
    }

    private void WriteLine(byte prefix, string text)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        var buffer = length <= 256 ? stackalloc byte[length] : new byte[length];
        Encoding.UTF8.GetBytes(text, buffer);
        WriteLine(prefix, buffer);
    }
}

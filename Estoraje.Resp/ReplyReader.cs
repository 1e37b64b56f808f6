namespace Estoraje.Resp;

/// <summary>
/// Reads the values of one complete RESP2 reply in order (a reply whose extent <see cref="ReplyFramer"/> found):
/// array headers, integers and bulk strings, as a node reads what a peer answered. Anything else where a value
/// is expected, an error reply included, throws <see cref="FormatException"/> with the peer's text.
/// </summary>
public ref struct ReplyReader
{
    private ReadOnlySpan<byte> _rest;

    /// <summary>Reads <paramref name="reply"/> from its start.</summary>
    public ReplyReader(ReadOnlySpan<byte> reply) => _rest = reply;

    /// <summary>Whether every byte was read.</summary>
    public readonly bool End => _rest.IsEmpty;

    /// <summary>An array header: the element count, -1 for a null array.</summary>
    public long ReadArrayHeader() => ReadNumber((byte)'*');

    /// <summary>An integer reply.</summary>
    public long ReadInteger() => ReadNumber((byte)':');

    /// <summary>A bulk string (a span of the reply), or false for a null bulk string.</summary>
    public bool TryReadBulk(out ReadOnlySpan<byte> value)
    {
        var length = ReadNumber((byte)'$');
        if (length < 0)
        {
            value = default;
            return false;
        }

        if (length > _rest.Length - 2 || _rest[(int)length] != '\r' || _rest[(int)length + 1] != '\n')
            throw new FormatException("A bulk string runs past the end of the reply.");
        value = _rest[..(int)length];
        _rest = _rest[((int)length + 2)..];
        return true;
    }

    /// <summary>A bulk string that must not be null.</summary>
    public ReadOnlySpan<byte> ReadBulk() =>
        TryReadBulk(out var value) ? value : throw new FormatException("Expected a bulk string, got a null one.");

    /// <summary>A bulk string holding a decimal integer (how a 64-bit unsigned value or a cursor travels).</summary>
    public ulong ReadBulkUnsigned() =>
        System.Buffers.Text.Utf8Parser.TryParse(ReadBulk(), out ulong value, out var used) && used > 0
            ? value
            : throw new FormatException("Expected a bulk string holding an unsigned integer.");

    private long ReadNumber(byte type)
    {
        var end = _rest.IndexOf("\r\n"u8);
        if (end < 1)
            throw new FormatException("Truncated reply.");
        var line = _rest[1..end];
        if (_rest[0] != type)
        {
            var text = System.Text.Encoding.UTF8.GetString(_rest[..end]);
            throw new FormatException(_rest[0] == '-' ? $"The peer replied an error: {text[1..]}" : $"Expected '{(char)type}', got: {text}");
        }

        if (!RespInteger.TryParse(line, out var value))
            throw new FormatException("Not an integer: " + System.Text.Encoding.UTF8.GetString(line));
        _rest = _rest[(end + 2)..];
        return value;
    }
}

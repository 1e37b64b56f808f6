namespace Estoraje.Resp;

/// <summary>
/// Looks ahead in a connection's buffer: where the command name and the first argument of each complete
/// multibulk request at its start lie, without framing them (<see cref="RequestParser"/> does that, one at a
/// time, as they run). A server uses it to start loading what the next requests of a pipeline will read while
/// it runs the first. Stops at the first request that is incomplete, inline, or not well formed: the parser
/// will report what is wrong with it.
/// </summary>
public static class RequestScanner
{
    private const byte Cr = (byte)'\r';
    private const byte Lf = (byte)'\n';

    /// <summary>
    /// Fills <paramref name="names"/> and <paramref name="firsts"/> (an empty range when a request has no argument)
    /// for up to their length of the complete requests at the start of <paramref name="data"/>; returns how many.
    /// </summary>
    public static int Scan(ReadOnlySpan<byte> data, Span<Range> names, Span<Range> firsts)
    {
        var max = Math.Min(names.Length, firsts.Length);
        var offset = 0;
        var count = 0;
        while (count < max && offset < data.Length && data[offset] == (byte)'*')
        {
            if (!TryReadNumber(data, ref offset, out var elements) || elements < 1)
                break;
            Range name = default, first = default;
            var complete = true;
            for (var e = 0; e < elements; e++)
            {
                if (offset >= data.Length || data[offset] != (byte)'$' || !TryReadNumber(data, ref offset, out var length) ||
                    length < 0 || length > data.Length - offset - 2 || data[offset + (int)length] != Cr || data[offset + (int)length + 1] != Lf)
                {
                    complete = false;
                    break;
                }

                if (e == 0)
                    name = new Range(offset, offset + (int)length);
                else if (e == 1)
                    first = new Range(offset, offset + (int)length);
                offset += (int)length + 2;
            }

            if (!complete)
                break;
            names[count] = name;
            firsts[count] = first;
            count++;
        }

        return count;
    }

    // Reads the number after the type byte at offset and its CRLF; offset then points past them.
    private static bool TryReadNumber(ReadOnlySpan<byte> data, ref int offset, out long value)
    {
        value = 0;
        var i = offset + 1;
        var digits = 0;
        while (i < data.Length && data[i] is >= (byte)'0' and <= (byte)'9' && digits < 10)
        {
            value = value * 10 + (data[i] - '0');
            i++;
            digits++;
        }

        if (digits == 0 || i + 1 >= data.Length || data[i] != Cr || data[i + 1] != Lf)
            return false;
        offset = i + 2;
        return true;
    }
}

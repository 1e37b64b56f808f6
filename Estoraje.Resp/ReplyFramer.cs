using System.Buffers;

namespace Estoraje.Resp;

/// <summary>
/// Finds where one RESP2 or RESP3 reply ends, without decoding it: a node relays a forwarded command's reply
/// byte for byte, so it only needs its extent. Aggregates (arrays, maps, sets, pushes, attributes) are
/// walked iteratively with a count of values still expected, so nesting depth costs no stack.
/// </summary>
public static class ReplyFramer
{
    /// <summary>
    /// Measures the reply at the start of <paramref name="buffer"/>: <see cref="ParseStatus.Done"/> with its
    /// length, <see cref="ParseStatus.NeedMoreData"/> when incomplete, <see cref="ParseStatus.Invalid"/> when
    /// the bytes are not RESP.
    /// </summary>
    public static ParseStatus TryFrame(ReadOnlySequence<byte> buffer, out long length)
    {
        length = 0;
        var reader = new SequenceReader<byte>(buffer);
        long expected = 1;
        while (expected > 0)
        {
            if (!reader.TryRead(out var type))
                return ParseStatus.NeedMoreData;
            if (!reader.TryReadTo(out ReadOnlySpan<byte> line, "\r\n"u8))
                return ParseStatus.NeedMoreData;
            expected--;
            switch (type)
            {
                case (byte)'+' or (byte)'-' or (byte)':' or (byte)'_' or (byte)'#' or (byte)',' or (byte)'(':
                    break;
                case (byte)'$' or (byte)'!' or (byte)'=':
                    if (!RespInteger.TryParse(line, out var size) || size < -1)
                        return ParseStatus.Invalid;
                    if (size >= 0)
                    {
                        if (reader.Remaining < size + 2)
                            return ParseStatus.NeedMoreData;
                        reader.Advance(size + 2);
                    }

                    break;
                case (byte)'*' or (byte)'~' or (byte)'>' or (byte)'%' or (byte)'|':
                    if (!RespInteger.TryParse(line, out var count) || count < -1)
                        return ParseStatus.Invalid;
                    if (count > 0)
                        expected += type is (byte)'%' or (byte)'|' ? count * 2 : count;
                    // An attribute is metadata in front of the reply it describes: that value follows too.
                    if (type == (byte)'|')
                        expected++;
                    break;
                default:
                    return ParseStatus.Invalid;
            }
        }

        length = reader.Consumed;
        return ParseStatus.Done;
    }
}

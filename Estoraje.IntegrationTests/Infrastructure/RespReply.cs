using System.Globalization;

namespace Estoraje.IntegrationTests.Infrastructure;

/// <summary>
/// Reads one RESP2 reply (as <see cref="RespConnection"/> returns it) into plain values: bulk and simple strings
/// as <see cref="string"/>, integers as <see cref="long"/>, arrays as <see cref="List{T}"/>, nil as null, an error
/// as <see cref="RespError"/>. For tests that look into structured replies.
/// </summary>
public static class RespReply
{
    public static object? Parse(string reply)
    {
        var position = 0;
        var value = Read(reply, ref position);
        return position == reply.Length ? value : throw new FormatException($"Trailing bytes after the reply: {RespConnection.Escape(reply)}");
    }

    /// <summary>A flat RESP2 map (key, value, key, value...) as a dictionary.</summary>
    public static Dictionary<string, object?> AsMap(object? value)
    {
        var list = value as List<object?> ?? throw new FormatException($"Not an array: {value}");
        var map = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < list.Count; i += 2)
            map[(string)list[i]!] = list[i + 1];
        return map;
    }

    private static object? Read(string text, ref int position)
    {
        var type = text[position];
        var end = text.IndexOf("\r\n", position, StringComparison.Ordinal);
        var line = text[(position + 1)..end];
        position = end + 2;
        switch (type)
        {
            case '+':
                return line;
            case '-':
                return new RespError(line);
            case ':':
                return long.Parse(line, CultureInfo.InvariantCulture);
            case '$':
            {
                var length = int.Parse(line, CultureInfo.InvariantCulture);
                if (length < 0)
                    return null;
                var value = text.Substring(position, length);
                position += length + 2;
                return value;
            }
            case '*':
            {
                var count = int.Parse(line, CultureInfo.InvariantCulture);
                if (count < 0)
                    return null;
                var items = new List<object?>(count);
                for (var i = 0; i < count; i++)
                    items.Add(Read(text, ref position));
                return items;
            }
            default:
                throw new FormatException($"Unexpected reply type '{type}' in {RespConnection.Escape(text)}");
        }
    }
}

/// <summary>An error reply.</summary>
public sealed record RespError(string Message);

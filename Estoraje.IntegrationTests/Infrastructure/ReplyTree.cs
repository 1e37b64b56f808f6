using System.Globalization;
using System.Text;

namespace Estoraje.IntegrationTests.Infrastructure;

/// <summary>
/// Reads one RESP2 or RESP3 reply (as <see cref="RespConnection"/> returns it) into a tree: aggregates as lists,
/// anything else as its type character followed by its text. <see cref="Canonical"/> renders a tree with every
/// number-like bulk string and double as its value, for comparing replies whose floats two servers spell differently.
/// </summary>
public static class ReplyTree
{
    /// <summary>The tree of one reply; <paramref name="type"/> is the aggregate's type character (<c>*</c>, <c>%</c>...).</summary>
    public static object Parse(string reply, out char type)
    {
        var position = 0;
        type = reply[0];
        var node = Read(reply, ref position);
        return position == reply.Length ? node : throw new FormatException($"Trailing bytes after the reply: {RespConnection.Escape(reply)}");
    }

    /// <summary>
    /// The reply with floats as numbers (1.1000000000000001 and 1.1 read the same); <paramref name="scanPairs"/>
    /// sorts the (name, value) pairs of a SCAN-family page.
    /// </summary>
    public static string Canonical(string reply, bool scanPairs = false)
    {
        var node = Parse(reply, out _);
        if (scanPairs && node is List<object> { Count: 2 } scan && scan[1] is List<object> elements)
        {
            var pairs = Enumerable.Range(0, elements.Count / 2).Select(i => Render(elements[2 * i]) + " " + Render(elements[(2 * i) + 1])).Order(StringComparer.Ordinal);
            return Render(scan[0]) + " [" + string.Join(", ", pairs) + "]";
        }

        return Render(node);
    }

    private static string Render(object node) => node switch
    {
        List<object> list => "[" + string.Join(", ", list.Select(Render)) + "]",
        string text when text.Length > 0 && text[0] is '$' or ',' && TryNumber(text[1..], out var number) => "num:" + number.ToString("R", CultureInfo.InvariantCulture),
        string text => text,
        _ => throw new FormatException(),
    };

    private static bool TryNumber(string text, out double value)
    {
        switch (text)
        {
            case "inf" or "+inf":
                value = double.PositiveInfinity;
                return true;
            case "-inf":
                value = double.NegativeInfinity;
                return true;
        }

        value = 0;
        if (text.Length == 0 || !text.All(c => char.IsAsciiDigit(c) || c is '.' or 'e' or 'E' or '-' or '+') ||
            !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
            return false;
        // -0 and 0 are the same score.
        value = value == 0 ? 0 : value;
        return true;
    }

    private static object Read(string text, ref int position)
    {
        var type = text[position];
        var end = text.IndexOf("\r\n", position, StringComparison.Ordinal);
        var line = text[(position + 1)..end];
        position = end + 2;
        switch (type)
        {
            case '$' or '=' or '!':
            {
                var length = int.Parse(line, CultureInfo.InvariantCulture);
                if (length < 0)
                    return "$-1";
                var value = text.Substring(position, length);
                position += length + 2;
                return type + value;
            }

            case '*' or '~' or '>' or '%' or '|':
            {
                var count = int.Parse(line, CultureInfo.InvariantCulture);
                if (count < 0)
                    return "*-1";
                var items = new List<object>();
                var elements = type is '%' or '|' ? count * 2 : count;
                for (var i = 0; i < elements; i++)
                    items.Add(Read(text, ref position));
                return items;
            }

            default:
                return type + line;
        }
    }
}

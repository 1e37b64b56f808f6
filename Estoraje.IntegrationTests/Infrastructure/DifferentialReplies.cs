using System.Globalization;

namespace Estoraje.IntegrationTests.Infrastructure;

/// <summary>
/// Differential runs for the data types: the same commands go to a real redis-server and to Estoraje in RESP2 or
/// RESP3, and every pair of replies that differs is listed. Replies whose order Redis does not promise are
/// compared with their elements sorted: every RESP3 set, and the arrays at the depth the caller names for a
/// command (0: the reply itself, as SMEMBERS in RESP2; 1: arrays inside it, as SSCAN's page).
/// </summary>
public static class DifferentialReplies
{
    /// <summary>No array of the reply is unordered (RESP3 sets still are).</summary>
    public const int Ordered = -1;

    /// <summary>Opens a connection to each server in <paramref name="protocol"/> (HELLO 3 for RESP3) and empties both.</summary>
    public static async Task<(RespConnection Redis, RespConnection Estoraje)> ConnectAsync(DifferentialFixture servers, int protocol)
    {
        var redis = await RespConnection.ConnectAsync(servers.Redis.Port);
        var estoraje = await RespConnection.ConnectAsync(servers.Estoraje.Port);
        foreach (var connection in (RespConnection[])[redis, estoraje])
        {
            if (protocol == 3)
                Assert.StartsWith("%", await connection.CommandAsync("HELLO", "3"), StringComparison.Ordinal);
            Assert.Equal("+OK\r\n", await connection.CommandAsync("FLUSHALL"));
        }

        return (redis, estoraje);
    }

    /// <summary>Each script name once per protocol (2 and 3), as xunit theory data.</summary>
    public static TheoryData<string, int> InBothProtocols(IEnumerable<string> scripts)
    {
        var data = new TheoryData<string, int>();
        foreach (var name in scripts)
        {
            data.Add(name, 2);
            data.Add(name, 3);
        }

        return data;
    }

    /// <summary>Connects to both servers in <paramref name="protocol"/>, empties them and compares the replies to <paramref name="commands"/>.</summary>
    public static async Task AssertSameAsync(DifferentialFixture servers, int protocol, IReadOnlyCollection<string[]> commands, Func<string[], int> unorderedDepth)
    {
        var (redis, estoraje) = await ConnectAsync(servers, protocol);
        await using (redis)
        await using (estoraje)
            await AssertSameAsync(redis, estoraje, commands, unorderedDepth);
    }

    /// <summary>
    /// Sends each command to both servers in turn and fails listing every pair of replies that differs.
    /// <paramref name="unorderedDepth"/> gives, per command, the depth of its arrays to compare sorted.
    /// </summary>
    public static async Task AssertSameAsync(RespConnection redis, RespConnection estoraje, IReadOnlyCollection<string[]> commands, Func<string[], int> unorderedDepth)
    {
        var differences = new List<string>();
        foreach (var command in commands)
        {
            var depth = unorderedDepth(command);
            var expected = Normalize(await redis.CommandAsync(command), depth);
            var actual = Normalize(await estoraje.CommandAsync(command), depth);
            if (actual != expected)
            {
                differences.Add($"{string.Join(' ', command.Select(a => a.Length == 0 ? "\"\"" : a))}{Environment.NewLine}" +
                                $"    redis-server: {RespConnection.Escape(expected)}{Environment.NewLine}" +
                                $"    estoraje:     {RespConnection.Escape(actual)}");
            }
        }

        Assert.True(differences.Count == 0,
            $"{differences.Count} of {commands.Count} replies differ:{Environment.NewLine}{string.Join(Environment.NewLine, differences)}");
    }

    /// <summary>A reply with the elements of its RESP3 sets, and of its arrays at <paramref name="sortDepth"/>, sorted.</summary>
    public static string Normalize(string reply, int sortDepth)
    {
        var position = 0;
        var normalized = Read(reply, ref position, 0, sortDepth);
        return position == reply.Length ? normalized : throw new FormatException($"Trailing bytes after the reply: {RespConnection.Escape(reply)}");
    }

    private static string Read(string text, ref int position, int depth, int sortDepth)
    {
        var end = text.IndexOf("\r\n", position, StringComparison.Ordinal);
        var type = text[position];
        var header = text[position..(end + 2)];
        position = end + 2;
        switch (type)
        {
            case '$' or '=' or '!':
            {
                var length = int.Parse(header.AsSpan(1, header.Length - 3), CultureInfo.InvariantCulture);
                if (length < 0)
                    return header;
                var body = text.Substring(position, length + 2);
                position += length + 2;
                return header + body;
            }

            case '*' or '~' or '>' or '%' or '|':
            {
                var count = int.Parse(header.AsSpan(1, header.Length - 3), CultureInfo.InvariantCulture);
                if (count < 0)
                    return header;
                var items = new List<string>();
                for (var i = 0; i < (type is '%' or '|' ? count * 2 : count); i++)
                    items.Add(Read(text, ref position, depth + 1, sortDepth));
                if (type == '~' || (type == '*' && depth == sortDepth))
                    items.Sort(StringComparer.Ordinal);
                var value = header + string.Concat(items);
                return type == '|' ? value + Read(text, ref position, depth, sortDepth) : value;
            }

            default:
                return header;
        }
    }
}

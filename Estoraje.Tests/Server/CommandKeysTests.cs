using System.Buffers;
using System.Text;
using Estoraje.Resp;
using Estoraje.Server.Commands;

namespace Estoraje.Tests.Server;

/// <summary>KeyPositions: the key positions routing, replication and COMMAND GETKEYS share.</summary>
public class CommandKeysTests
{
    [Theory]
    [InlineData("GET k", new[] { 1 })]
    [InlineData("DEL a b c", new[] { 1, 2, 3 })]
    [InlineData("MSET a 1 b 2", new[] { 1, 3 })]
    [InlineData("LMOVE a b LEFT RIGHT", new[] { 1, 2 })]
    [InlineData("SINTERSTORE d a b", new[] { 1, 2, 3 })]
    [InlineData("SINTERCARD 2 a b LIMIT 1", new[] { 2, 3 })]
    [InlineData("LMPOP 1 a LEFT COUNT 2", new[] { 2 })]
    [InlineData("LMPOP 3 a b LEFT", new[] { 2, 3, 4 })]
    [InlineData("ZUNIONSTORE d 2 a b WEIGHTS 1 2", new[] { 1, 3, 4 })]
    [InlineData("PING", new int[0])]
    public void Keys_are_found_by_position_and_by_key_count(string command, int[] expected)
    {
        Assert.Equal(expected, Positions(command, offset: 0, out var invalid));
        Assert.False(invalid);
    }

    [Theory]
    [InlineData("SINTERCARD 3 a b", new int[0])]
    [InlineData("SINTERCARD 0 a", new int[0])]
    [InlineData("SINTERCARD x a", new int[0])]
    [InlineData("SINTERCARD -1 a", new int[0])]
    [InlineData("LMPOP 9223372036854775807 a LEFT", new int[0])]
    [InlineData("ZUNIONSTORE d 0 a", new[] { 1 })]
    public void A_key_count_that_is_not_a_count_of_the_arguments_there_gives_no_counted_keys(string command, int[] expected)
    {
        Assert.Equal(expected, Positions(command, offset: 0, out var invalid));
        Assert.True(invalid);
    }

    [Fact]
    public void Positions_are_relative_to_the_command_name_when_it_is_not_first()
    {
        Assert.Equal([2, 3], Positions("COMMAND GETKEYS SINTERCARD 2 a b", offset: 2, out var invalid));
        Assert.False(invalid);
    }

    private static List<int> Positions(string command, int offset, out bool invalid)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(command + "\r\n"));
        Assert.Equal(ParseStatus.Done, new RequestParser().TryParse(ref buffer, out var request));
        var definition = CommandTable.Instance.Find(request[offset])!;
        var keys = definition.Keys(request, offset);
        invalid = keys.Invalid;
        var positions = new List<int>();
        foreach (var position in keys)
            positions.Add(position);
        if (offset == 0)
            Assert.Equal(positions.Count > 0 ? positions[0] : -1, definition.FirstKeyPosition(request));
        return positions;
    }
}

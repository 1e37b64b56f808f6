namespace Estoraje.Server.Commands;

/// <summary>
/// The command name a connection sent last, as sent, and the command it named. Clients send the same few commands
/// over and over: comparing a few bytes is cheaper than the table's case-insensitive lookup.
/// </summary>
internal sealed class RecentCommand
{
    private const int MaxName = 32;
    private readonly byte[] _name = new byte[MaxName];
    private int _length;
    private CommandDefinition? _command;

    /// <summary>The command <paramref name="name"/> names if it is the name remembered, else null.</summary>
    public CommandDefinition? Match(ReadOnlySpan<byte> name) =>
        _command is not null && name.SequenceEqual(_name.AsSpan(0, _length)) ? _command : null;

    public void Remember(ReadOnlySpan<byte> name, CommandDefinition command)
    {
        if (name.Length > MaxName)
            return;
        name.CopyTo(_name);
        _length = name.Length;
        _command = command;
    }
}

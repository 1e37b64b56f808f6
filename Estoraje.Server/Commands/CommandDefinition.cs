using Estoraje.Resp;
using Estoraje.Server.Network;

namespace Estoraje.Server.Commands;

/// <summary>Executes one command whose name and arity are already checked.</summary>
internal delegate void CommandHandler(ClientSession client, RespRequest request);

/// <summary>Redis command flags (as COMMAND INFO reports them).</summary>
[Flags]
internal enum CommandFlags
{
    None = 0,
    Write = 1 << 0,
    ReadOnly = 1 << 1,
    DenyOom = 1 << 2,
    Admin = 1 << 3,
    NoScript = 1 << 4,
    Loading = 1 << 5,
    Stale = 1 << 6,
    Fast = 1 << 7,
    NoAuth = 1 << 8,
    AllowBusy = 1 << 9,
    SkipSlowlog = 1 << 10,
    Sentinel = 1 << 11,
    Dangerous = 1 << 12,

    /// <summary>Refused inside MULTI ("Command not allowed inside a transaction"), which then fails.</summary>
    NoMulti = 1 << 13,

    /// <summary>The command may have no key at all (EVAL with numkeys 0): COMMAND GETKEYS then answers an empty array.</summary>
    NoMandatoryKeys = 1 << 14,

    /// <summary>Reaches keys its arguments do not name (a script's calls): inside EXEC it holds every store shard.</summary>
    UndeclaredKeys = 1 << 15,

    PubSub = 1 << 16,
}

/// <summary>Per-command counters for INFO commandstats that are rare enough to share (calls are counted per session).</summary>
internal sealed class CommandStats
{
    public long RejectedCalls;
    public long FailedCalls;

    public void Reset() => RejectedCalls = FailedCalls = 0;
}

/// <summary>One row of the command table.</summary>
internal sealed class CommandDefinition
{
    public CommandDefinition(string name, int arity, CommandFlags flags, int firstKey, int lastKey, int step,
        string group, string since, string summary, CommandHandler? handler, CommandDefinition[]? subcommands = null)
    {
        Name = name;
        FullName = name;
        Arity = arity;
        Flags = flags;
        FirstKey = firstKey;
        LastKey = lastKey;
        Step = step;
        Group = group;
        Since = since;
        Summary = summary;
        Handler = handler;
        Subcommands = subcommands ?? [];
        foreach (var sub in Subcommands)
        {
            sub.FullName = name + "|" + sub.Name;
            sub.Parent = this;
        }
    }

    /// <summary>Lower-case name (the subcommand's own name for a subcommand).</summary>
    public string Name { get; }

    /// <summary><c>client|setname</c> for a subcommand, else the name: how errors and stats name it.</summary>
    public string FullName { get; private set; }

    /// <summary>Redis arity: the exact argument count with the name, or at least -arity when negative.</summary>
    public int Arity { get; }

    public CommandFlags Flags { get; }

    public int FirstKey { get; }

    public int LastKey { get; }

    public int Step { get; }

    /// <summary>
    /// Position of the numkeys argument of a command whose keys it counts (ZUNIONSTORE, ZINTERCARD...): that many
    /// keys follow it, besides those of first/last/step. 0 for every other command.
    /// </summary>
    public int NumKeysIndex { get; init; }

    /// <summary>Whether the command names keys (through first/last/step or a numkeys argument).</summary>
    public bool HasKeys => FirstKey > 0 || NumKeysIndex > 0;

    /// <summary>The positions of the keys in <paramref name="request"/> (see <see cref="KeyPositions"/>).</summary>
    public KeyPositions Keys(RespRequest request, int offset = 0) => new(this, request, offset);

    /// <summary>The position of the request's first key, -1 when it has none.</summary>
    public int FirstKeyPosition(RespRequest request)
    {
        var keys = Keys(request);
        return keys.MoveNext() ? keys.Current : -1;
    }

    /// <summary>Redis's command group (string, generic, connection, server).</summary>
    public string Group { get; }

    public string Since { get; }

    public string Summary { get; }

    public CommandHandler? Handler { get; }

    public CommandDefinition[] Subcommands { get; }

    public CommandDefinition? Parent { get; private set; }

    public CommandStats Stats { get; } = new();

    /// <summary>Position in <see cref="CommandTable.AllWithSubcommands"/>, for per-session counters.</summary>
    public int Index { get; set; }

    public bool HasSubcommands => Subcommands.Length > 0;

    public bool AcceptsArgumentCount(int count) => Arity >= 0 ? count == Arity : count >= -Arity;

    public CommandDefinition? FindSubcommand(ReadOnlySpan<byte> name)
    {
        foreach (var sub in Subcommands)
        {
            if (System.Text.Ascii.EqualsIgnoreCase(name, sub.Name))
                return sub;
        }

        return null;
    }
}

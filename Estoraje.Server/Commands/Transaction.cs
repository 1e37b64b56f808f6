using Estoraje.Resp;

namespace Estoraje.Server.Commands;

/// <summary>
/// One connection's transaction: whether MULTI is open, the commands queued since, whether one of them was
/// refused (EXEC then answers EXECABORT), and the keys WATCHed with their stamps. EXEC, DISCARD and RESET end it;
/// EXEC, DISCARD, RESET and UNWATCH forget the watched keys.
/// </summary>
internal sealed class Transaction
{
    /// <summary>Between MULTI and EXEC or DISCARD: commands are queued instead of run.</summary>
    public bool Active { get; private set; }

    /// <summary>A command was refused while queuing (unknown, wrong arity, not allowed in MULTI…).</summary>
    public bool Aborted { get; private set; }

    public List<QueuedCommand> Queued { get; private set; } = [];

    public List<WatchedKey> Watched { get; private set; } = [];

    public void Begin() => Active = true;

    /// <summary>Redis's flagTransaction: inside MULTI, a refused command makes EXEC fail. Nothing outside MULTI.</summary>
    public void Flag()
    {
        if (Active)
            Aborted = true;
    }

    public void Queue(QueuedCommand command) => Queued.Add(command);

    public bool IsWatched(ReadOnlySpan<byte> key)
    {
        foreach (var watched in Watched)
        {
            if (key.SequenceEqual(watched.Key))
                return true;
        }

        return false;
    }

    public void Unwatch()
    {
        if (Watched.Count > 0)
            Watched = [];
    }

    /// <summary>Leaves MULTI and forgets the queue and the watched keys (the lists handed out before stay as they were).</summary>
    public void Discard()
    {
        Active = false;
        Aborted = false;
        if (Queued.Count > 0)
            Queued = [];
        Unwatch();
    }
}

/// <summary>A command queued in MULTI: its definition, its request as sent (RESP multibulk) and its keys.</summary>
internal sealed class QueuedCommand
{
    public QueuedCommand(CommandDefinition command, byte[] request, RespRequest parsed)
    {
        Command = command;
        Request = request;
        var keys = new List<byte[]>();
        foreach (var position in command.Keys(parsed))
            keys.Add(parsed.ToArray(position));
        Keys = keys;
    }

    public CommandDefinition Command { get; }

    public byte[] Request { get; }

    public IReadOnlyList<byte[]> Keys { get; }
}

/// <summary>
/// A WATCHed key and its stamp when watched (see <see cref="TransactionExecution.Stamp"/>): known at once when this
/// node leads the key's slot, later when the slot's primary answers. A stamp that failed makes EXEC fail.
/// </summary>
internal sealed record WatchedKey(byte[] Key, Task<long> Stamp);

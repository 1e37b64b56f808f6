using Estoraje.Resp;

namespace Estoraje.Server.Commands;

/// <summary>
/// The key arguments of one request, as its command's key spec places them: first key, last key and step, then —
/// for a command with a numkeys argument (<see cref="CommandDefinition.NumKeysIndex"/>) — the keys that argument
/// counts. Routing, replication and COMMAND GETKEYS all read keys through this one enumerator. Positions count
/// from the command name (0); nothing is allocated.
/// </summary>
internal ref struct KeyPositions
{
    private readonly int _last;
    private readonly int _step;
    private readonly int _countedFirst;
    private readonly int _countedLast;
    private int _next;
    private bool _inCounted;

    /// <summary>Reads the key spec of <paramref name="command"/> over the arguments of <paramref name="request"/> from <paramref name="offset"/> on.</summary>
    public KeyPositions(CommandDefinition command, RespRequest request, int offset = 0)
    {
        var count = request.Count - offset;
        _step = command.Step;
        _next = command.FirstKey > 0 ? command.FirstKey : int.MaxValue;
        _last = command.FirstKey <= 0 ? -1 : command.LastKey < 0 ? count + command.LastKey : Math.Min(command.LastKey, count - 1);
        _countedFirst = 1;
        _countedLast = 0;
        Current = 0;
        var index = command.NumKeysIndex;
        if (index <= 0)
            return;
        // A numkeys that is not a count of the arguments there is the command's error to report; it has no keys.
        // Nor has 0 (the commands served all refuse it; Redis's COMMAND GETKEYS calls it invalid).
        if (index < count && RespInteger.TryParse(request[offset + index], out var keys) && keys > 0 && keys <= count - index - 1)
        {
            _countedFirst = index + 1;
            _countedLast = index + (int)keys;
        }
        else
        {
            Invalid = true;
        }
    }

    /// <summary>Whether the numkeys argument is missing, not an integer, not positive or larger than the arguments after it.</summary>
    public bool Invalid { get; }

    /// <summary>The current key's position.</summary>
    public int Current { get; private set; }

    public readonly KeyPositions GetEnumerator() => this;

    public bool MoveNext()
    {
        if (!_inCounted)
        {
            if (_next <= _last)
            {
                Current = _next;
                _next += _step;
                return true;
            }

            _inCounted = true;
            _next = _countedFirst;
        }

        if (_next > _countedLast)
            return false;
        Current = _next++;
        return true;
    }
}

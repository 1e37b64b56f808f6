using System.Diagnostics;

namespace Estoraje.Server.Network;

/// <summary>
/// When an event loop polls its sockets before it sleeps (<c>--busy-poll</c>), and for how long. A loop that sleeps
/// is woken by the client that writes to it, and wakes the client it writes to: on loopback each side's write pays
/// for waking the other's thread, in its own system call, and the woken thread pays for the switch back in. While
/// requests keep coming within microseconds of each other (many clients, or one that sends its next request as soon
/// as its reply arrives), a loop that polls for a few of them instead sleeps less often, and so does its client.
/// <para>
/// Polls that find nothing back off: after <see cref="MissesBeforeBackOff"/> in a row, the next
/// <see cref="BackOffWaits"/> waits sleep at once, so that an idle or lightly loaded loop does not spin after every
/// request. A poll that finds a ready socket ends the back-off.
/// </para>
/// </summary>
internal struct BusyPolling(TimeSpan time)
{
    internal const int MissesBeforeBackOff = 4;
    internal const int BackOffWaits = 64;

    private int _misses;
    private int _skip;

    /// <summary>How long a poll lasts, in <see cref="Stopwatch"/> ticks (0: never poll).</summary>
    public readonly long Ticks { get; } = (long)(time.TotalSeconds * Stopwatch.Frequency);

    /// <summary>Whether the next wait polls first (else it sleeps at once). Call once per wait.</summary>
    public bool PollsNext()
    {
        if (Ticks == 0)
            return false;
        if (_skip == 0)
            return true;
        _skip--;
        return false;
    }

    /// <summary>Records how a poll ended: <paramref name="found"/> ready sockets, or none before its time ran out.</summary>
    public void Polled(bool found)
    {
        if (found)
            _misses = 0;
        else if (++_misses >= MissesBeforeBackOff)
            _skip = BackOffWaits;
    }
}

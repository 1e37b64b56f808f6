using System.Diagnostics;

namespace Estoraje.Server.Hosting;

/// <summary>
/// The server's clock. While a command runs its time stands still, as Redis's command time snapshot: every look at
/// the wall clock on the command's thread (the store's expiry checks included) sees the time the command started,
/// and the commands of a transaction or a script see the time EXEC or the script started. Outside commands it is
/// the clock it wraps.
/// <para>
/// It also makes the look cheap: a command starts by reading the monotonic clock for its statistics anyway, and
/// over the system clock the wall time is worked out from that reading and an anchor (a pair of readings of both
/// clocks) renewed every 100 ms, instead of read again (one clock read less per command, two with the store's).
/// Between anchors the two clocks drift apart by at most what NTP slews in 100 ms (0.05 ms); a step of the wall
/// clock shows within 100 ms.
/// </para>
/// </summary>
internal sealed class CommandClock : TimeProvider
{
    private static readonly long s_anchorTicks = Stopwatch.Frequency / 10;

    [ThreadStatic]
    private static long t_frozen; // UTC ticks of the running command's start; 0 outside commands

    private readonly TimeProvider _inner;
    private readonly bool _system;
    private Anchor _anchor;

    public CommandClock(TimeProvider inner)
    {
        _inner = inner;
        _system = ReferenceEquals(inner, TimeProvider.System);
        _anchor = NewAnchor();
    }

    /// <summary>Over the system clock.</summary>
    public static CommandClock OverSystem { get; } = new(TimeProvider.System);

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        var frozen = t_frozen;
        return frozen != 0 ? new DateTimeOffset(frozen, TimeSpan.Zero) : _inner.GetUtcNow();
    }

    /// <summary>The time now, even during a command (Redis's TIME).</summary>
    public DateTimeOffset GetWallNow() => _inner.GetUtcNow();

    /// <inheritdoc />
    public override long GetTimestamp() => _inner.GetTimestamp();

    /// <inheritdoc />
    public override long TimestampFrequency => _inner.TimestampFrequency;

    /// <inheritdoc />
    public override TimeZoneInfo LocalTimeZone => _inner.LocalTimeZone;

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        _inner.CreateTimer(callback, state, dueTime, period);

    /// <summary>
    /// Stops the clock on this thread at <paramref name="started"/> (a <see cref="Stopwatch"/> timestamp) for a
    /// command that starts then, unless a command that called it stopped it already; pass what it returns to
    /// <see cref="Restart"/> when the command ends.
    /// </summary>
    public long Freeze(long started)
    {
        var previous = t_frozen;
        if (previous == 0)
            t_frozen = _system ? UtcTicksAt(started) : _inner.GetUtcNow().UtcTicks;
        return previous;
    }

    /// <summary>Ends what the matching <see cref="Freeze"/> began.</summary>
    public static void Restart(long previous) => t_frozen = previous;

    // The wall time at a monotonic timestamp, from the anchor (renewed when older than 100 ms, or newer than the
    // timestamp: another thread renewed it meanwhile).
    private long UtcTicksAt(long timestamp)
    {
        var anchor = _anchor;
        var elapsed = timestamp - anchor.Timestamp;
        if (elapsed < 0 || elapsed > s_anchorTicks)
        {
            anchor = NewAnchor();
            _anchor = anchor;
            elapsed = timestamp - anchor.Timestamp;
        }

        return anchor.UtcTicks + (long)(elapsed * ((double)TimeSpan.TicksPerSecond / Stopwatch.Frequency));
    }

    private static Anchor NewAnchor() => new(DateTime.UtcNow.Ticks, Stopwatch.GetTimestamp());

    private sealed record Anchor(long UtcTicks, long Timestamp);
}

namespace Estoraje.Storage;

/// <summary>
/// Hybrid logical clock for record versions: Unix milliseconds shifted left by <see cref="CounterBits"/>, plus
/// a counter for writes within the same millisecond. Versions from one clock strictly increase, even if the
/// wall clock steps back; observing a version from elsewhere (replication, recovery) moves the clock past it,
/// so a later local write always wins over everything this node has seen.
/// </summary>
public sealed class HybridClock
{
    /// <summary>Bits of the version below the millisecond timestamp.</summary>
    public const int CounterBits = 16;

    private readonly TimeProvider _time;
    private long _last;

    /// <summary>Creates a clock over <paramref name="time"/>.</summary>
    public HybridClock(TimeProvider time) => _time = time;

    /// <summary>The highest version issued or observed.</summary>
    public long Last => Volatile.Read(ref _last);

    /// <summary>The Unix millisecond a version was stamped at.</summary>
    public static long TimeOf(long version) => version >> CounterBits;

    /// <summary>A version higher than every version issued or observed so far.</summary>
    public long Next()
    {
        var physical = _time.GetUtcNow().ToUnixTimeMilliseconds() << CounterBits;
        while (true)
        {
            var last = Volatile.Read(ref _last);
            var next = Math.Max(last + 1, physical);
            if (Interlocked.CompareExchange(ref _last, next, last) == last)
                return next;
        }
    }

    /// <summary>Makes every later <see cref="Next"/> higher than <paramref name="version"/>.</summary>
    public void Observe(long version)
    {
        while (true)
        {
            var last = Volatile.Read(ref _last);
            if (version <= last || Interlocked.CompareExchange(ref _last, version, last) == last)
                return;
        }
    }
}

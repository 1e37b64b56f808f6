namespace Estoraje.Storage;

/// <summary>
/// Hybrid logical clock for record versions, unique per node: milliseconds since <see cref="Epoch"/> in the high
/// bits, then a 12-bit counter for writes within the same millisecond, then the node's 10-bit
/// <see cref="Ordinal"/>. Versions from one clock strictly increase, even if the wall clock steps back;
/// observing a version from elsewhere (replication, recovery) moves the clock past it, so a later local write
/// always wins over everything this node has seen; and two nodes with different ordinals never issue the same
/// version, so concurrent writes of one key on two nodes (a failover) still have a single winner everywhere.
/// 41 bits of milliseconds last until 2089.
/// </summary>
public sealed class HybridClock
{
    /// <summary>Bits of the version below the millisecond timestamp (counter and ordinal).</summary>
    public const int CounterBits = 22;

    /// <summary>Bits of the version that hold the node's ordinal.</summary>
    public const int OrdinalBits = 10;

    /// <summary>Ordinals run from 0 to this, exclusive.</summary>
    public const int OrdinalCount = 1 << OrdinalBits;

    /// <summary>Unix milliseconds of 2020-01-01T00:00Z, the clock's zero.</summary>
    public const long Epoch = 1_577_836_800_000;

    private const long OrdinalMask = OrdinalCount - 1;

    private readonly TimeProvider _time;
    private long _last;
    private int _ordinal;

    /// <summary>Creates a clock over <paramref name="time"/>.</summary>
    public HybridClock(TimeProvider time) => _time = time;

    /// <summary>The highest version issued or observed.</summary>
    public long Last => Volatile.Read(ref _last);

    /// <summary>
    /// This node's number among the cluster's members, in the low bits of every version it issues (0 when
    /// standalone). Set before the node takes writes in a cluster.
    /// </summary>
    public int Ordinal
    {
        get => Volatile.Read(ref _ordinal);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(value, OrdinalCount);
            Volatile.Write(ref _ordinal, value);
        }
    }

    /// <summary>The Unix millisecond a version was stamped at.</summary>
    public static long TimeOf(long version) => (version >> CounterBits) + Epoch;

    /// <summary>The lowest version stamped at <paramref name="unixMilliseconds"/> (for comparisons and tests).</summary>
    public static long VersionAt(long unixMilliseconds) => (unixMilliseconds - Epoch) << CounterBits;

    /// <summary>The ordinal of the node that issued <paramref name="version"/>.</summary>
    public static int OrdinalOf(long version) => (int)(version & OrdinalMask);

    /// <summary>A version higher than every version issued or observed so far, carrying this node's ordinal.</summary>
    public long Next()
    {
        var physical = VersionAt(_time.GetUtcNow().ToUnixTimeMilliseconds());
        var ordinal = Ordinal;
        while (true)
        {
            var last = Volatile.Read(ref _last);
            var next = Math.Max((last | OrdinalMask) + 1, physical) | (long)(uint)ordinal;
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

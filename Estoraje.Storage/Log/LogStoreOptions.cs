namespace Estoraje.Storage.Log;

/// <summary>When written records reach the disk (Redis's <c>appendfsync</c>).</summary>
public enum FsyncPolicy
{
    /// <summary>
    /// Every write is fsync'd before it is acknowledged. Concurrent writers share one fsync (group commit).
    /// </summary>
    Always,

    /// <summary>Writes reach the OS before they are acknowledged and the disk within about a second.</summary>
    EverySecond,

    /// <summary>Writes reach the OS before they are acknowledged; the OS decides when they reach the disk.</summary>
    No,
}

/// <summary>The kind of an event the store reports through <see cref="LogStoreOptions.Log"/>.</summary>
public enum StoreEvent
{
    /// <summary>Routine work done (a compaction).</summary>
    Information,

    /// <summary>Damage found and worked around (a torn tail, a damaged record or hint file).</summary>
    Damage,
}

/// <summary>Settings of a <see cref="LogStore"/>.</summary>
public sealed class LogStoreOptions
{
    /// <summary>Directory of the segment and hint files (created when missing).</summary>
    public required string Directory { get; init; }

    /// <summary>The active segment is sealed and a new one started once it reaches this size.</summary>
    public long SegmentSize { get; init; } = 64L * 1024 * 1024;

    /// <summary>Durability of acknowledged writes.</summary>
    public FsyncPolicy Fsync { get; init; } = FsyncPolicy.EverySecond;

    /// <summary>Byte budget of the hot-value cache (values read from disk or just written).</summary>
    public long CacheBytes { get; init; } = DefaultCacheBytes();

    /// <summary>
    /// How long a deleted or expired key's tombstone is kept (in memory and on disk), so that a replica or an
    /// older segment cannot bring the key back with an older record.
    /// </summary>
    public TimeSpan TombstoneGrace { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Dead fraction of a sealed segment from which background compaction rewrites it.</summary>
    public double CompactionDeadRatio { get; init; } = 0.5;

    /// <summary>Most bytes per second compaction writes (0: no limit), so that it leaves the disk to requests.</summary>
    public long CompactionBytesPerSecond { get; init; } = 64L * 1024 * 1024;

    /// <summary>How compaction finds the records to copy (tests pin one; the store picks the cheaper).</summary>
    internal CompactionSource CompactionSource { get; init; }

    /// <summary>Threads that load a sealed segment from its hint file at start (tests pin them; 0: one per core, at most 8).</summary>
    internal int LoadThreads { get; init; }

    /// <summary>Receives notable events, one line each: damage found (warnings) and compactions done.</summary>
    public Action<StoreEvent, string>? Log { get; init; }

    /// <summary>A quarter of the memory available to the process.</summary>
    public static long DefaultCacheBytes() => Math.Max(16L * 1024 * 1024, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4);
}

/// <summary>How compaction finds the live records of the segments it rewrites.</summary>
internal enum CompactionSource
{
    /// <summary>Whichever costs less (see <see cref="LogStore.WalkBytesPerEntry"/>).</summary>
    Cheapest,

    /// <summary>From the key directory, for every segment that holds no unlisted record.</summary>
    Directory,

    /// <summary>By reading every segment through.</summary>
    Segments,
}

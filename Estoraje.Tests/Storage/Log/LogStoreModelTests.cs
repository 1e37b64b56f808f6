using Estoraje.Storage.Log;
using Estoraje.Tests.Support;

namespace Estoraje.Tests.Storage.Log;

/// <summary>The model-based runs of <see cref="MemoryStoreModelTests"/> against the log store, with restarts.</summary>
public sealed class LogStoreModelTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Store_behaves_like_a_dictionary_across_restarts(int seed)
    {
        using var dir = new TempDirectory();
        using var run = new MemoryStoreModelTests.Run(seed, keyCount: 40, time => LogStore.Open(Options(dir.Path), time), restarts: true);

        run.Execute(3000);

        Assert.True(run.Restarts > 10);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void Store_behaves_like_a_dictionary_across_restarts_over_many_keys(int seed)
    {
        using var dir = new TempDirectory();
        using var run = new MemoryStoreModelTests.Run(seed, keyCount: 3000, time => LogStore.Open(Options(dir.Path), time), restarts: true);

        run.Execute(1000);

        Assert.True(run.Restarts > 3);
    }

    // Compaction finds the records to copy from the key directory, or by reading segments through: both must
    // keep exactly what the model holds.
    [Theory]
    [InlineData(21, true)]
    [InlineData(22, true)]
    [InlineData(23, true)]
    [InlineData(24, true)]
    [InlineData(25, true)]
    [InlineData(26, true)]
    [InlineData(21, false)]
    [InlineData(22, false)]
    [InlineData(23, false)]
    [InlineData(24, false)]
    public void Store_behaves_like_a_dictionary_across_restarts_and_compactions(int seed, bool fromDirectory)
    {
        using var dir = new TempDirectory();
        var options = Options(dir.Path, fromDirectory ? CompactionSource.Directory : CompactionSource.Segments);
        using var run = new MemoryStoreModelTests.Run(seed, keyCount: 60, time => LogStore.Open(options, time), restarts: true,
            compact: (store, random) => ((LogStore)store).Compact(random.Next(3) switch { 0 => 0, 1 => 0.3, _ => 0.6 }, sealActive: random.Next(2) == 0));

        run.Execute(3000);

        Assert.True(run.Restarts > 10);
        Assert.True(run.Compactions > 10);
    }

    // Small segments and a small cache, so that runs roll segments and read values back from disk; a short
    // tombstone grace, so that tombstones are purged and compaction has to decide when their records may go.
    private static LogStoreOptions Options(string dir, CompactionSource source = CompactionSource.Cheapest) =>
        new()
        {
            CompactionSource = source,
            Directory = dir,
            Fsync = FsyncPolicy.No,
            SegmentSize = 8 * 1024,
            CacheBytes = 64 * 1024,
            TombstoneGrace = TimeSpan.FromSeconds(3),
            CompactionBytesPerSecond = 0,
        };
}

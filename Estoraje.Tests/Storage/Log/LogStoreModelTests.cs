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

    // Small segments and a small cache, so that runs roll segments and read values back from disk.
    private static LogStoreOptions Options(string dir) =>
        new() { Directory = dir, Fsync = FsyncPolicy.No, SegmentSize = 8 * 1024, CacheBytes = 64 * 1024 };
}

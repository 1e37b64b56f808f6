using Estoraje.Storage;
using Estoraje.Storage.Log;
using Estoraje.Tests.Support;

namespace Estoraje.Tests.Storage.Log;

/// <summary>The log store passes every behaviour test the memory store passes.</summary>
public sealed class LogStoreBehaviourTests : StoreBehaviourTests
{
    private readonly TempDirectory _dir = new();

    protected override IKeyValueStore CreateStore(TimeProvider time) =>
        LogStore.Open(new LogStoreOptions { Directory = _dir.Path, Fsync = FsyncPolicy.No, SegmentSize = 256 * 1024, CacheBytes = 1 << 20 }, time);

    protected override void Cleanup() => _dir.Dispose();
}

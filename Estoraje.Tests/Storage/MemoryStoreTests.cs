using Estoraje.Storage;
using Estoraje.Storage.Memory;

namespace Estoraje.Tests.Storage;

public sealed class MemoryStoreTests : StoreBehaviourTests
{
    protected override IKeyValueStore CreateStore(TimeProvider time) => new MemoryStore(time);

    [Fact]
    public void Flushing_keys_written_before_a_clock_reading_does_not_count_as_a_later_removal()
    {
        using var store = new MemoryStore();
        for (var i = 0; i < 200; i++)
            store.SetString([(byte)i, 1], [1], 1, 0);
        var reading = store.Clock.Last;

        store.Clear();

        // FLUSHALL touches a watched key only if it existed, as in Redis: every shard's removals predate the reading.
        for (var i = 0; i < 200; i++)
            Assert.True(store.RemovedVersion([(byte)i, 2]) <= reading);
    }
}

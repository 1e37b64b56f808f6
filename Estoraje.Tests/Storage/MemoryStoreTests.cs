using Estoraje.Storage;
using Estoraje.Storage.Memory;

namespace Estoraje.Tests.Storage;

public sealed class MemoryStoreTests : StoreBehaviourTests
{
    protected override IKeyValueStore CreateStore(TimeProvider time) => new MemoryStore(time);
}

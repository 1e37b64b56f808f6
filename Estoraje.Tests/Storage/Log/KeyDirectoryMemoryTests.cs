using System.Text;
using Xunit.Abstractions;
using Estoraje.Storage;
using Estoraje.Storage.Log;

namespace Estoraje.Tests.Storage.Log;

/// <summary>Heap measurements: alone, so that no other test allocates while they measure.</summary>
[CollectionDefinition(nameof(MemoryMeasurement), DisableParallelization = true)]
public sealed class MemoryMeasurement;

[Collection(nameof(MemoryMeasurement))]
public sealed class KeyDirectoryMemoryTests(ITestOutputHelper output)
{
    // 2^17 keys fill 2^17 buckets: the tables are full and a key costs OverheadPerKey (59) and a little slack
    // (the last page and chunk). One more key doubles the buckets, when a bucket costs the most per key (8 bytes).
    // The heap is measured whole: a background thread of another test class (a store's syncer, a timer) can
    // allocate some kilobytes meanwhile, hence a byte of margin over the computed figure.
    [Theory]
    [InlineData(1 << 17, KeyDirectory.OverheadPerKey + 1.5)]
    [InlineData((1 << 17) + 1, 64)]
    [InlineData(200_000, 64)]
    public void Key_directory_heap_per_key_beyond_the_keys_bytes_is_at_most_64(int count, double most)
    {
        var keys = new byte[count][];
        long keyBytes = 0;
        for (var i = 0; i < count; i++)
        {
            keys[i] = Encoding.ASCII.GetBytes($"key:{i}");
            keyBytes += keys[i].Length;
        }

        var hashes = keys.Select(k => KeyDirectory.Hash(k)).ToArray();
        var slots = keys.Select(k => (ushort)KeySlots.Of(k)).ToArray();
        var before = HeapBytes();
        var table = new KeyDirectory();
        for (var i = 0; i < count; i++)
            table.Add(keys[i], hashes[i], slots[i]);
        var after = HeapBytes();

        var measured = (double)(after - before - keyBytes) / count;
        var accounted = (double)(table.AllocatedBytes - keyBytes) / count;
        output.WriteLine($"{count} keys ({keyBytes} key bytes): {after - before} heap bytes, {measured:F2} per key beyond the key; AllocatedBytes says {accounted:F2}");
        Assert.True(measured <= most, $"{measured:F2} bytes per key beyond the key, above {most}");
        // What INFO reports (AllocatedBytes, estoraje_key_directory_bytes) is what the heap holds, array headers aside.
        Assert.InRange(measured - accounted, -0.5, 0.5);
        GC.KeepAlive(table);
        GC.KeepAlive(keys);
        GC.KeepAlive(hashes);
        GC.KeepAlive(slots);
    }

    private static long HeapBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}

using System.Globalization;
using System.Text;
using Estoraje.Storage;
using Estoraje.Storage.Log;
using Estoraje.Tests.Support;

namespace Estoraje.Tests.Storage.Log;

/// <summary>
/// Per-slot counts and digests stay equal to what the slot listings say while writes, their replication
/// (Apply on a second store) and slot-sync style pulls run at the same time on several threads.
/// </summary>
public sealed class SlotBookkeepingStressTests
{
    [Fact]
    public async Task Counts_and_digests_match_the_listings_under_concurrent_writes_copies_and_pulls()
    {
        using var dirA = new TempDirectory();
        using var dirB = new TempDirectory();
        using var a = LogStore.Open(new LogStoreOptions { Directory = dirA.Path, Fsync = FsyncPolicy.No, SegmentSize = 64 * 1024, CompactionBytesPerSecond = 0 });
        using var b = LogStore.Open(new LogStoreOptions { Directory = dirB.Path, Fsync = FsyncPolicy.No, SegmentSize = 64 * 1024, CompactionBytesPerSecond = 0 });
        var keys = Enumerable.Range(0, 400).Select(i => Encoding.ASCII.GetBytes($"{{s{i % 8}}}k{i}")).ToArray();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));

        var writers = Enumerable.Range(0, 3).Select(w => Task.Run(() =>
        {
            var random = new Random(w);
            while (!stop.IsCancellationRequested)
            {
                var key = keys[random.Next(keys.Length)];
                if (random.Next(4) == 0)
                    a.Remove(key);
                else
                    // At least 10 bytes: the length given (up to 5) must stay within the array.
                    a.SetString(key, Encoding.ASCII.GetBytes("v" + random.Next().ToString("D9", CultureInfo.InvariantCulture)), 1 + random.Next(5), 0);
                if (random.Next(3) != 0 && Copy(a, key) is { } record)
                    b.Apply(record);
            }
        })).ToList();
        var puller = Task.Run(() =>
        {
            var random = new Random(99);
            while (!stop.IsCancellationRequested)
            {
                var slot = KeySlots.Of(keys[random.Next(keys.Length)]);
                var (from, to) = random.Next(2) == 0 ? (a, b) : (b, a);
                var entries = new List<SlotEntry>();
                ulong cursor = 0;
                do
                {
                    cursor = from.ScanSlot(slot, cursor, 16, entries);
                }
                while (cursor != 0);
                foreach (var entry in entries)
                {
                    if ((!to.TryGetVersion(entry.Key, out var mine) || mine < entry.Version) && Copy(from, entry.Key) is { } record)
                        to.Apply(record);
                }
            }
        });
        var background = Task.Run(() =>
        {
            var random = new Random(5);
            while (!stop.IsCancellationRequested)
            {
                var store = random.Next(2) == 0 ? a : b;
                store.ExpireCycle(TimeSpan.FromMilliseconds(1));
                if (random.Next(20) == 0)
                    store.Compact(0.3, sealActive: random.Next(2) == 0);
            }
        });
        await Task.WhenAll([.. writers, puller, background]);

        foreach (var store in new[] { a, b })
        {
            foreach (var slot in keys.Select(k => KeySlots.Of(k)).Distinct())
            {
                var entries = new List<SlotEntry>();
                ulong cursor = 0;
                do
                {
                    cursor = store.ScanSlot(slot, cursor, 16, entries);
                }
                while (cursor != 0);
                ulong sum = 0;
                foreach (var entry in entries)
                    sum += StableHash.KeyVersion(entry.Key, entry.Version);
                var digest = store.GetSlotDigest(slot);
                Assert.True(digest.Digest == sum && digest.Count == entries.Count(e => !e.Tombstone),
                    $"{(store == a ? "a" : "b")} slot {slot}: {digest.Count}/{digest.Digest:x16}, listing {entries.Count(e => !e.Tombstone)}/{sum:x16}");
            }
        }
    }

    // The key's record as slot sync's FETCH builds it: version first, then the value (two steps, as the server).
    private static StoreRecord? Copy(LogStore store, byte[] key)
    {
        if (!store.TryGetVersion(key, out var version))
            return null;
        return store.TryGet(key, out var value, touch: false)
            ? new StoreRecord(key, value.Version, value.Kind, value.Bytes.ToArray(), value.Bytes.Length, value.ExpiresAt)
            : StoreRecord.Tombstone(key, version);
    }
}

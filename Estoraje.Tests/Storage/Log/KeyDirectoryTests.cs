using System.Runtime.CompilerServices;
using System.Text;
using Estoraje.Storage;
using Estoraje.Storage.Log;

namespace Estoraje.Tests.Storage.Log;

public sealed class KeyDirectoryTests
{
    [Fact]
    public void Entry_takes_54_bytes_and_a_key_costs_59_beyond_its_own()
    {
        Assert.Equal(KeyDirectory.EntrySize, Unsafe.SizeOf<KeyDirectory.Entry>());
        Assert.Equal(54, KeyDirectory.EntrySize);
        Assert.False(RuntimeHelpers.IsReferenceOrContainsReferences<KeyDirectory.Entry>());
        Assert.Equal(54 + 4 + 1, KeyDirectory.OverheadPerKey);
        Assert.Equal(KeyDirectory.OverheadPerKey + 10, KeyDirectory.BytesFor(10));
        Assert.Equal(KeyDirectory.OverheadPerKey + 1 + 200, KeyDirectory.BytesFor(200));
    }

    [Fact]
    public void Packed_fields_of_an_entry_do_not_disturb_each_other()
    {
        var e = default(KeyDirectory.Entry);
        e.Use(key: 7, slot: 16383);
        e.Kind = ValueKind.String;
        e.Touch(123_456);
        e.Tombstone = true;

        Assert.True(e.IsUsed);
        Assert.Equal(16383, e.Slot);
        Assert.Equal(ValueKind.String, e.Kind);
        Assert.True(e.Tombstone);
        Assert.Equal(10, e.IdleSeconds(123_466));

        e.Tombstone = false;
        e.Kind = ValueKind.None;
        e.Touch(int.MaxValue);
        Assert.Equal(16383, e.Slot);
        Assert.False(e.Tombstone);
        Assert.Equal(ValueKind.None, e.Kind);
        Assert.True(e.IsUsed);
        // The access clock is 24 bits, as Redis's LRU clock: idle times survive its wrapping.
        Assert.Equal(5, e.IdleSeconds(unchecked(int.MaxValue + 5)));
        Assert.Equal(0, e.IdleSeconds(int.MaxValue));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(KeyArena.OwnChunkFrom - 2)]
    [InlineData(KeyArena.OwnChunkFrom)]
    [InlineData(KeyArena.ChunkSize)]
    [InlineData(100_000)]
    public void Key_of_any_length_reads_back_and_is_found(int length)
    {
        var table = new KeyDirectory();
        var neighbours = Enumerable.Range(0, 100).Select(i => Key($"n{i}")).ToList();
        foreach (var key in neighbours.Take(50))
            Add(table, key);
        var big = new byte[length];
        new Random(length).NextBytes(big);
        var index = Add(table, big);
        foreach (var key in neighbours.Skip(50))
            Add(table, key);

        Assert.Equal(index, table.Find(big, KeyDirectory.Hash(big)));
        Assert.True(big.AsSpan().SequenceEqual(table.KeyOf(index)));
        Assert.Equal(RecordFormat.RecordSize(length, 0), table.RecordSize(index));
        foreach (var key in neighbours)
            Assert.True(key.AsSpan().SequenceEqual(table.KeyOf(table.Find(key, KeyDirectory.Hash(key)))));

        table.RemoveAt(index);
        Assert.Equal(-1, table.Find(big, KeyDirectory.Hash(big)));
        Assert.Equal(100, table.Count);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Random_adds_removes_and_tombstones_match_a_dictionary_while_the_arena_moves_keys(int seed)
    {
        var random = new Random(seed);
        var table = new KeyDirectory();
        var model = new Dictionary<string, (bool Tombstone, long Version)>();
        var pool = Enumerable.Range(0, 3000).Select(i => $"key:{i}:" + new string('x', KeyLength(random))).ToList();
        for (var step = 0; step < 60_000; step++)
        {
            var name = pool[random.Next(pool.Count)];
            var key = Key(name);
            var hash = KeyDirectory.Hash(key);
            var i = table.Find(key, hash);
            Assert.Equal(model.ContainsKey(name), i >= 0);
            switch (random.Next(4))
            {
                case 0 or 1 when i < 0:
                    i = Add(table, key);
                    table[i].Version = step;
                    model[name] = (false, step);
                    break;
                case 0 when i >= 0:
                    table.RemoveAt(i);
                    model.Remove(name);
                    break;
                case 1 when i >= 0:
                    table.MarkTombstone(i);
                    model[name] = (true, model[name].Version);
                    break;
                case 2 when i >= 0:
                    table.Revive(i);
                    table[i].Version = step;
                    model[name] = (false, step);
                    break;
            }

            if (step % 10_000 == 0)
                AssertMatches(table, model);
        }

        AssertMatches(table, model);
        Assert.True(table.Arena.ChunksMoved > 0);
        Assert.Equal(model.Values.Count(v => !v.Tombstone), table.Count);
        Assert.Equal(model.Values.Count(v => v.Tombstone), table.TombstoneCount);
    }

    [Fact]
    public void Arena_stays_within_twice_the_live_keys_under_set_and_delete_churn_of_distinct_keys()
    {
        const int Live = 20_000;
        var table = new KeyDirectory();
        var random = new Random(5);
        var window = new Queue<byte[]>();
        long peakArena = 0, peakTable = 0;
        // Fifty times the live set goes through, each key deleted a random while after it was written.
        for (var n = 0; n < 50 * Live; n++)
        {
            var key = Key($"session:{n}:" + new string('s', random.Next(0, 40)));
            Add(table, key);
            window.Enqueue(key);
            if (window.Count > Live || (window.Count > Live / 2 && random.Next(2) == 0))
            {
                var old = window.Dequeue();
                table.RemoveAt(table.Find(old, KeyDirectory.Hash(old)));
            }

            var arena = table.Arena;
            Assert.True(arena.AllocatedBytes <= 2 * arena.LiveBytes + KeyArena.ChunkSize,
                $"after {n} keys the arena holds {arena.AllocatedBytes} bytes for {arena.LiveBytes} live");
            peakArena = Math.Max(peakArena, arena.AllocatedBytes);
            peakTable = Math.Max(peakTable, table.AllocatedBytes);
        }

        long liveKeyBytes = 0;
        foreach (var key in window)
        {
            liveKeyBytes += KeyArena.RecordSize(key.Length);
            Assert.True(key.AsSpan().SequenceEqual(table.KeyOf(table.Find(key, KeyDirectory.Hash(key)))));
        }

        Assert.Equal(liveKeyBytes, table.Arena.LiveBytes);
        Assert.True(table.Arena.ChunksMoved > 100, $"{table.Arena.ChunksMoved} chunks moved");
        Assert.True(peakArena <= 2 * (Live * (KeyArena.RecordSize(60) + 0L)) + KeyArena.ChunkSize, $"peak arena {peakArena}");
        // Entries and buckets follow the live set, not the keys that went through.
        Assert.True(peakTable <= peakArena + Live * (KeyDirectory.EntrySize + 8L) + 64 * 1024, $"peak table {peakTable}");
    }

    [Fact]
    public void Deleting_every_key_releases_every_chunk()
    {
        var table = new KeyDirectory();
        var keys = Enumerable.Range(0, 10_000).Select(i => Key($"k{i}" + new string('z', i % 50))).ToList();
        keys.Add(new byte[50_000]);
        foreach (var key in keys)
            Add(table, key);
        Assert.True(table.Arena.ChunkCount > 10);

        foreach (var key in keys)
            table.RemoveAt(table.Find(key, KeyDirectory.Hash(key)));

        Assert.Equal(0, table.Arena.LiveBytes);
        Assert.True(table.Arena.ChunkCount <= 1, $"{table.Arena.ChunkCount} chunks left");
    }

    [Fact]
    public void Evicted_cache_node_is_forgotten_by_its_entry_after_the_entries_moved()
    {
        var table = new KeyDirectory();
        var keys = Enumerable.Range(0, 5000).Select(i => Key($"k{i}")).ToList();
        foreach (var key in keys)
            Add(table, key);
        var kept = keys[4999];
        var node = new CacheNode(KeyDirectory.Hash(kept), [1, 2, 3], 10);
        table.SetCached(table.Find(kept, KeyDirectory.Hash(kept)), node);
        var other = new CacheNode(1, [4], 10);
        table.SetCached(table.Find(keys[0], KeyDirectory.Hash(keys[0])), other);

        // Shrinking re-lays the entries out densely: the kept key's index changes.
        var before = table.Find(kept, KeyDirectory.Hash(kept));
        foreach (var key in keys.Take(4990))
            table.RemoveAt(table.Find(key, KeyDirectory.Hash(key)));
        var after = table.Find(kept, KeyDirectory.Hash(kept));
        Assert.NotEqual(before, after);
        Assert.Same(node, table.CachedAt(after));

        table.Uncache(other); // its entry is gone: nothing to do
        table.Uncache(node);
        Assert.Null(table.CachedAt(after));
        Assert.Equal(0, table[after].CacheSlot);
    }

    [Fact]
    public void Bucket_walk_of_an_unchanging_table_visits_every_live_key_once()
    {
        var table = new KeyDirectory();
        var keys = Enumerable.Range(0, 777).Select(i => Key($"k{i}")).ToList();
        foreach (var key in keys)
            Add(table, key);
        table.MarkTombstone(table.Find(keys[0], KeyDirectory.Hash(keys[0])));

        var found = new List<byte[]>();
        ulong cursor = 0;
        do
        {
            cursor = table.ScanBucket(cursor, found);
        }
        while (cursor != 0);

        Assert.Equal(776, found.Count);
        Assert.Equal(keys.Skip(1).Select(Name).ToHashSet(), found.Select(Name).ToHashSet());
    }

    private static void AssertMatches(KeyDirectory table, Dictionary<string, (bool Tombstone, long Version)> model)
    {
        foreach (var (name, state) in model)
        {
            var key = Key(name);
            var i = table.Find(key, KeyDirectory.Hash(key));
            Assert.True(i >= 0, $"{name} is missing");
            Assert.True(key.AsSpan().SequenceEqual(table.KeyOf(i)));
            Assert.Equal(state.Tombstone, table[i].Tombstone);
            Assert.Equal(state.Version, table[i].Version);
        }

        long bytes = 0;
        foreach (var name in model.Keys)
            bytes += KeyArena.RecordSize(Encoding.ASCII.GetByteCount(name));
        Assert.Equal(bytes, table.Arena.LiveBytes);
        Assert.True(table.Arena.AllocatedBytes <= 2 * table.Arena.LiveBytes + KeyArena.ChunkSize);
    }

    // Mostly short keys, now and then one past the shared chunks' limit.
    private static int KeyLength(Random random) => random.Next(20) == 0 ? random.Next(KeyArena.OwnChunkFrom, 3 * KeyArena.OwnChunkFrom) : random.Next(0, 64);

    private static int Add(KeyDirectory table, byte[] key) => table.Add(key, KeyDirectory.Hash(key), (ushort)KeySlots.Of(key));

    private static byte[] Key(string name) => Encoding.ASCII.GetBytes(name);

    private static string Name(byte[] key) => Encoding.ASCII.GetString(key);
}

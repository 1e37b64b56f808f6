namespace Estoraje.Storage.Memory;

/// <summary>
/// One shard's keys: a <see cref="ChainedTable{TEntry}"/> whose entries hold the key's array and the value.
/// Not thread-safe: its shard's lock guards it.
/// </summary>
internal sealed class KeyTable : ChainedTable<KeyTable.Entry>, IBucketScan, IExpirySample
{
    internal struct Entry : IChainEntry
    {
        public byte[]? Key;
        public object? Value;
        public long LastAccess;
        public long Version;
        public int Length;
        public ValueKind Kind;

        public long ExpiresAt { readonly get; set; }

        public int Hash { readonly get; set; }

        public int Next { readonly get; set; }

        public int ExpiryIndex { readonly get; set; }

        public readonly bool IsUsed => Key is not null;
    }

    public int Count => Occupied;

    /// <summary>
    /// Bytes held by this shard's keys and values, kept by the store under the shard lock: one shared
    /// counter updated atomically by every write would bounce its cache line between cores.
    /// </summary>
    public long UsedBytes { get; set; }

    /// <summary>The highest version written to this shard (kept through removals and clears).</summary>
    public long MaxVersion { get; set; }

    /// <summary>The highest version of a key removed from this shard (see <see cref="IKeyValueStore.RemovedVersion"/>).</summary>
    public long RemovedVersion { get; set; }

    public int Find(ReadOnlySpan<byte> key, int hash)
    {
        for (var i = Head(hash); i >= 0; i = this[i].Next)
        {
            ref var e = ref this[i];
            if (e.Hash == hash && key.SequenceEqual(e.Key))
                return i;
        }

        return -1;
    }

    /// <summary>Adds a new key (which must not be present) and returns its entry index.</summary>
    public int Add(byte[] key, int hash)
    {
        var index = Allocate(hash);
        this[index].Key = key;
        return index;
    }

    public void RemoveAt(int index) => Free(index);

    /// <summary>Entry index of a random key, or -1 when empty. Density stays above 1/8, so few draws are needed.</summary>
    public int RandomEntry(Random random)
    {
        if (Count == 0)
            return -1;
        while (true)
        {
            var i = random.Next(EntrySlots);
            if (this[i].IsUsed)
                return i;
        }
    }

    public void Clear()
    {
        Reset();
        UsedBytes = 0;
    }

    /// <summary>Visits the bucket at <paramref name="cursor"/> and returns the next cursor (0 when the walk is over).</summary>
    public ulong ScanBucket(ulong cursor, List<byte[]> keys)
    {
        var first = Head(cursor, out var next);
        for (var i = first; i >= 0; i = this[i].Next)
            keys.Add(this[i].Key!);
        return next;
    }
}

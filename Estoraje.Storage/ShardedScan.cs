namespace Estoraje.Storage;

/// <summary>A shard's key table as the SCAN walk sees it.</summary>
internal interface IBucketScan
{
    /// <summary>Live keys in the table.</summary>
    int Count { get; }

    /// <summary>Adds the keys of the bucket at <paramref name="cursor"/>; returns the next cursor (0: walk over).</summary>
    ulong ScanBucket(ulong cursor, List<byte[]> keys);
}

/// <summary>The SCAN walk over the shards of a store, shared by the memory and log stores.</summary>
internal static class ShardedScan
{
    /// <summary>
    /// One step of the walk. Cursor layout: the shard in the low <paramref name="shardBits"/> bits, that
    /// shard's reverse-binary table cursor above them. Empty shards are passed over without spending the
    /// step budget (Redis's 10 × COUNT buckets).
    /// </summary>
    public static ulong Scan<TTable>(Lock[] locks, TTable[] tables, int shardBits, ulong cursor, int count, List<byte[]> keys)
        where TTable : IBucketScan
    {
        var shardCount = 1 << shardBits;
        var shard = (int)(cursor & (ulong)(shardCount - 1));
        var tableCursor = cursor >> shardBits;
        var wanted = keys.Count + Math.Max(1, count);
        var steps = Math.Max(1, count) * 10;
        while (true)
        {
            lock (locks[shard])
            {
                var table = tables[shard];
                if (table.Count == 0)
                {
                    tableCursor = 0;
                }
                else
                {
                    do
                    {
                        tableCursor = table.ScanBucket(tableCursor, keys);
                    }
                    while (tableCursor != 0 && --steps > 0 && keys.Count < wanted);
                }
            }

            if (tableCursor == 0 && ++shard == shardCount)
                return 0;

            if (keys.Count >= wanted || steps <= 0)
                return (tableCursor << shardBits) | (uint)shard;
        }
    }
}

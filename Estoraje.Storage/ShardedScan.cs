namespace Estoraje.Storage;

/// <summary>A shard's key table as the SCAN walk sees it.</summary>
internal interface IBucketScan
{
    /// <summary>Live keys in the table.</summary>
    int Count { get; }

    /// <summary>Adds the keys of the bucket at <paramref name="cursor"/>; returns the next cursor (0: walk over).</summary>
    ulong ScanBucket(ulong cursor, List<byte[]> keys);
}

/// <summary>A shard's key table as active expiry samples it.</summary>
internal interface IExpirySample
{
    /// <summary>Keys in the table that have an expiry.</summary>
    int ExpiringCount { get; }

    /// <summary>The entry index of a random key that has an expiry, or -1.</summary>
    int RandomExpiring(Random random);
}

/// <summary>Walks over the shards of a store shared by the memory and log stores: SCAN and active expiry.</summary>
internal static class ShardedScan
{
    /// <summary>
    /// Redis's active expiry cycle: per shard, sample 20 keys that expire and reclaim the expired ones;
    /// repeat while more than a quarter were expired; stop when <paramref name="budget"/> is spent.
    /// <paramref name="expireIfDue"/> (shard, entry, now) reclaims the entry if it is expired, under the shard's lock.
    /// </summary>
    public static int ExpireCycle<TTable>(Lock[] locks, TTable[] tables, TimeSpan budget, Func<long> now,
        Func<int, int, long, bool> expireIfDue)
        where TTable : IExpirySample
    {
        const int Sample = 20;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var reclaimed = 0;
        for (var shard = 0; shard < tables.Length; shard++)
        {
            var table = tables[shard];
            int expired;
            do
            {
                if (table.ExpiringCount == 0)
                    break;
                expired = 0;
                lock (locks[shard])
                {
                    var at = now();
                    for (var s = 0; s < Sample && table.ExpiringCount > 0; s++)
                    {
                        if (expireIfDue(shard, table.RandomExpiring(Random.Shared), at))
                            expired++;
                    }
                }

                reclaimed += expired;
                if (System.Diagnostics.Stopwatch.GetElapsedTime(started) > budget)
                    return reclaimed;
            }
            while (expired > Sample / 4);
        }

        return reclaimed;
    }

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

using System.Buffers.Binary;

namespace Estoraje.Storage.Log;

/// <summary>
/// Dropping the data of slots this node no longer holds. The keys leave the directory at once; their records
/// stay in the segments until compaction, so a floor per slot says which records no longer count: every
/// record of slot s in a segment with an id below <c>floor[s]</c>. A drop first rolls the log, so every record
/// written before it lies below the floor (segment ids only grow, compaction outputs included) and every
/// record written after it (the slot pulled again later) lies at or above. Recovery and compaction skip the
/// records under a floor. The floors live in <see cref="FloorsFileName"/>, replaced atomically.
/// </summary>
public sealed partial class LogStore
{
    /// <summary>File of the per-slot floors: 16384 little-endian 32-bit segment ids.</summary>
    public const string FloorsFileName = "slot-floors";

    private readonly int[] _slotFloors = new int[KeySlots.Count];

    /// <summary>
    /// Removes every key and tombstone of <paramref name="slots"/> from this store, durably: they do not come
    /// back after a restart. Records written later for those slots (the slot synced again) count as usual.
    /// Returns the keys and tombstones removed.
    /// </summary>
    public int DropSlots(IReadOnlyCollection<int> slots)
    {
        ulong mask = 0;
        foreach (var slot in slots)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(slot);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, KeySlots.Count);
            mask |= 1UL << (slot >> SlotShift);
        }

        if (mask == 0)
            return 0;
        var removed = 0;
        using (Lock(mask))
        {
            // Before the roll: a compaction that has not seen this drop made its output segments before it too.
            Interlocked.Increment(ref _slotDrops);
            var floor = Writer.Roll().Id;
            var entries = new List<SlotEntry>();
            foreach (var slot in slots)
            {
                var shard = slot >> SlotShift;
                var table = _tables[shard];
                entries.Clear();
                ulong cursor = 0;
                do
                {
                    cursor = table.ScanSlotBucket(cursor, (ushort)slot, entries);
                }
                while (cursor != 0);

                foreach (var entry in entries)
                {
                    var i = table.Find(entry.Key, Hash(entry.Key));
                    if (i < 0)
                        continue;
                    Forget(table, i);
                    if (table.CachedAt(i) is { } cached)
                        _caches[shard].Drop(cached);
                    if (table[i].Tombstone)
                    {
                        Interlocked.Add(ref _tombstoneBytes, -KeyDirectory.BytesFor(entry.Key.Length));
                    }
                    else
                    {
                        _slotCounts[slot]--;
                        Interlocked.Add(ref _liveKeyBytes, -KeyDirectory.BytesFor(entry.Key.Length));
                    }

                    table.RemoveAt(i);
                    removed++;
                }

                Volatile.Write(ref _slotFloors[slot], floor);
            }

            SaveFloors();
        }

        Interlocked.Add(ref _droppedKeys, removed);
        return removed;
    }

    /// <summary>Keys and tombstones removed by <see cref="DropSlots"/> since start.</summary>
    public long DroppedKeys => Interlocked.Read(ref _droppedKeys);

    private long _droppedKeys;

    // Drops started since open: a compaction during which one started gives up (see CompactLocked).
    private long _slotDrops;

    // Whether a record of `slot` in segment `segmentId` was written before the slot was last dropped.
    private bool UnderFloor(int slot, int segmentId) => segmentId < Volatile.Read(ref _slotFloors[slot]);

    private void LoadFloors()
    {
        var path = Path.Combine(_options.Directory, FloorsFileName);
        if (!File.Exists(path))
            return;
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != KeySlots.Count * sizeof(int))
            throw new IOException($"{path} has {bytes.Length} bytes, not {KeySlots.Count * sizeof(int)}.");
        for (var slot = 0; slot < KeySlots.Count; slot++)
            _slotFloors[slot] = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(slot * sizeof(int)));
    }

    // Written aside, fsync'd, then moved into place: a crash leaves the old floors or the new ones.
    private void SaveFloors()
    {
        var bytes = new byte[KeySlots.Count * sizeof(int)];
        for (var slot = 0; slot < KeySlots.Count; slot++)
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(slot * sizeof(int)), Volatile.Read(ref _slotFloors[slot]));
        var path = Path.Combine(_options.Directory, FloorsFileName);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
        DirectorySync.Flush(_options.Directory);
    }
}

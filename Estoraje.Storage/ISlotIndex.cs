namespace Estoraje.Storage;

/// <summary>
/// Per-slot bookkeeping for slot sync (Redis Cluster's 16384 slots, <see cref="KeySlots"/>): how many live
/// keys a slot holds, an order-independent digest of its (key, version) pairs with tombstones included, and
/// a listing of those pairs. Two replicas holding the same writes of a slot have equal digests, whatever
/// order the writes arrived in.
/// </summary>
public interface ISlotIndex
{
    /// <summary>Live keys and digest of one slot.</summary>
    SlotDigest GetSlotDigest(int slot);

    /// <summary>
    /// One step of a cursor walk over the entries of one slot, tombstones included, with their versions.
    /// Start with cursor 0; a returned 0 ends the walk; an entry present for the whole walk is returned.
    /// </summary>
    ulong ScanSlot(int slot, ulong cursor, int count, List<SlotEntry> entries);
}

/// <summary>Live keys of a slot and the sum of the hashes of its (key, version) pairs, tombstones included.</summary>
public readonly record struct SlotDigest(int Count, ulong Digest);

/// <summary>One key of a slot listing: its version and whether it is a tombstone.</summary>
public readonly record struct SlotEntry(byte[] Key, long Version, bool Tombstone);

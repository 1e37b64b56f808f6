namespace Estoraje.Storage;

/// <summary>
/// Redis Cluster's key slot (CRC16/XMODEM of the key or its non-empty <c>{tag}</c>, mod 16384), for per-slot
/// bookkeeping: the same source as <c>Estoraje.Ring.KeySlot</c>'s, compiled in here (a test proves they agree).
/// </summary>
public static class KeySlots
{
    /// <summary>Number of slots.</summary>
    public const int Count = SlotHash.Count;

    /// <summary>The slot of <paramref name="key"/>.</summary>
    public static int Of(ReadOnlySpan<byte> key) => SlotHash.Of(key);
}

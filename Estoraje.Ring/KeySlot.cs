namespace Estoraje.Ring;

/// <summary>
/// Redis Cluster's key → slot function: CRC16 (XMODEM) of the key, or of its hash tag (the text between
/// the first '{' and the first '}' after it, when not empty), modulo 16384. Cluster-aware clients compute
/// the same, and keys sharing a tag share a slot.
/// </summary>
public static class KeySlot
{
    /// <summary>Number of slots.</summary>
    public const int Count = SlotHash.Count;

    /// <summary>The slot of <paramref name="key"/>.</summary>
    public static int Of(ReadOnlySpan<byte> key) => SlotHash.Of(key);

    /// <summary>The part of the key that is hashed: its non-empty <c>{tag}</c>, else the whole key.</summary>
    public static ReadOnlySpan<byte> HashedPart(ReadOnlySpan<byte> key) => SlotHash.HashedPart(key);

    /// <summary>CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no reflection.</summary>
    public static ushort Crc16(ReadOnlySpan<byte> data) => SlotHash.Crc16(data);
}

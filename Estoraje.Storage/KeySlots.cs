namespace Estoraje.Storage;

/// <summary>
/// Redis Cluster's key slot (CRC16/XMODEM of the key or its non-empty <c>{tag}</c>, mod 16384), for per-slot
/// bookkeeping. A copy of <c>Estoraje.Ring.KeySlot</c> (a test proves they agree) so that the store depends on
/// the BCL only; byte-at-a-time, as keys are short.
/// </summary>
public static class KeySlots
{
    /// <summary>Number of slots.</summary>
    public const int Count = 16384;

    private static readonly ushort[] s_table = BuildTable();

    /// <summary>The slot of <paramref name="key"/>.</summary>
    public static int Of(ReadOnlySpan<byte> key)
    {
        var open = key.IndexOf((byte)'{');
        if (open >= 0)
        {
            var close = key[(open + 1)..].IndexOf((byte)'}');
            if (close > 0)
                key = key.Slice(open + 1, close);
        }

        uint crc = 0;
        foreach (var b in key)
            crc = ((crc << 8) ^ s_table[((crc >> 8) ^ b) & 0xFF]) & 0xFFFF;
        return (int)crc & (Count - 1);
    }

    private static ushort[] BuildTable()
    {
        var table = new ushort[256];
        for (var i = 0; i < 256; i++)
        {
            var crc = (ushort)(i << 8);
            for (var bit = 0; bit < 8; bit++)
                crc = (crc & 0x8000) != 0 ? (ushort)((crc << 1) ^ 0x1021) : (ushort)(crc << 1);
            table[i] = crc;
        }

        return table;
    }
}

namespace Estoraje.Ring;

/// <summary>
/// Redis Cluster's key → slot function: CRC16 (XMODEM) of the key, or of its hash tag (the text between
/// the first '{' and the first '}' after it, when not empty), modulo 16384. Cluster-aware clients compute
/// the same, and keys sharing a tag share a slot.
/// </summary>
public static class KeySlot
{
    /// <summary>Number of slots.</summary>
    public const int Count = 16384;

    // Slicing-by-8 tables: s_tables[k][x] is the CRC of byte x followed by k zero bytes. Eight independent
    // lookups per 8 bytes instead of a chain of eight dependent ones (~3x faster on 100-byte keys).
    private static readonly ushort[][] s_tables = BuildTables();

    /// <summary>The slot of <paramref name="key"/>.</summary>
    public static int Of(ReadOnlySpan<byte> key) => Crc16(HashedPart(key)) & (Count - 1);

    /// <summary>The part of the key that is hashed: its non-empty <c>{tag}</c>, else the whole key.</summary>
    public static ReadOnlySpan<byte> HashedPart(ReadOnlySpan<byte> key)
    {
        var open = key.IndexOf((byte)'{');
        if (open < 0)
            return key;
        var close = key[(open + 1)..].IndexOf((byte)'}');
        return close <= 0 ? key : key.Slice(open + 1, close);
    }

    /// <summary>CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no reflection.</summary>
    public static ushort Crc16(ReadOnlySpan<byte> data)
    {
        var t = s_tables;
        ushort[] t0 = t[0], t1 = t[1], t2 = t[2], t3 = t[3], t4 = t[4], t5 = t[5], t6 = t[6], t7 = t[7];
        uint crc = 0;
        while (data.Length >= 8)
        {
            crc = (uint)(t7[(crc >> 8) ^ data[0]] ^ t6[(crc & 0xFF) ^ data[1]] ^ t5[data[2]] ^ t4[data[3]] ^
                         t3[data[4]] ^ t2[data[5]] ^ t1[data[6]] ^ t0[data[7]]);
            data = data[8..];
        }

        foreach (var b in data)
            crc = ((crc << 8) ^ t0[((crc >> 8) ^ b) & 0xFF]) & 0xFFFF;
        return (ushort)crc;
    }

    private static ushort[][] BuildTables()
    {
        var tables = new ushort[8][];
        tables[0] = new ushort[256];
        for (var i = 0; i < 256; i++)
        {
            var crc = (ushort)(i << 8);
            for (var bit = 0; bit < 8; bit++)
                crc = (crc & 0x8000) != 0 ? (ushort)((crc << 1) ^ 0x1021) : (ushort)(crc << 1);
            tables[0][i] = crc;
        }

        for (var k = 1; k < 8; k++)
        {
            tables[k] = new ushort[256];
            for (var i = 0; i < 256; i++)
            {
                var previous = tables[k - 1][i];
                tables[k][i] = (ushort)((previous << 8) ^ tables[0][previous >> 8]);
            }
        }

        return tables;
    }
}

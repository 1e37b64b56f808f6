using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Estoraje;

/// <summary>
/// Redis Cluster's key → slot function: CRC16 (XMODEM) of the key, or of its hash tag (the text between
/// the first '{' and the first '}' after it, when not empty), modulo 16384. One source compiled into both
/// libraries that need it (Estoraje.Ring's <c>KeySlot</c>, Estoraje.Storage's <c>KeySlots</c>), so that each
/// still depends on the BCL only.
/// </summary>
internal static class SlotHash
{
    /// <summary>Number of slots.</summary>
    public const int Count = 16384;

    // Slicing-by-16: s_table[k * 256 + x] is the CRC of byte x followed by k zero bytes, so sixteen bytes
    // take sixteen independent lookups instead of a chain of sixteen dependent ones (8 KB of tables).
    private static readonly ushort[] s_table = BuildTable();

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
        ref var t = ref MemoryMarshal.GetArrayDataReference(s_table);
        ref var p = ref MemoryMarshal.GetReference(data);
        var remaining = data.Length;
        uint crc = 0;
        while (remaining >= 16)
        {
            // Bytes in stream order: the first one is the lowest of a little-endian load.
            var a = BinaryPrimitives.ReadUInt64LittleEndian(MemoryMarshal.CreateReadOnlySpan(ref p, 8));
            var b = BinaryPrimitives.ReadUInt64LittleEndian(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref p, 8), 8));
            crc = (uint)(Unsafe.Add(ref t, 15 * 256 + (int)(((crc >> 8) ^ a) & 0xFF)) ^
                         Unsafe.Add(ref t, 14 * 256 + (int)((crc ^ (a >> 8)) & 0xFF)) ^
                         Unsafe.Add(ref t, 13 * 256 + (int)((a >> 16) & 0xFF)) ^
                         Unsafe.Add(ref t, 12 * 256 + (int)((a >> 24) & 0xFF)) ^
                         Unsafe.Add(ref t, 11 * 256 + (int)((a >> 32) & 0xFF)) ^
                         Unsafe.Add(ref t, 10 * 256 + (int)((a >> 40) & 0xFF)) ^
                         Unsafe.Add(ref t, 9 * 256 + (int)((a >> 48) & 0xFF)) ^
                         Unsafe.Add(ref t, 8 * 256 + (int)(a >> 56)) ^
                         Unsafe.Add(ref t, 7 * 256 + (int)(b & 0xFF)) ^
                         Unsafe.Add(ref t, 6 * 256 + (int)((b >> 8) & 0xFF)) ^
                         Unsafe.Add(ref t, 5 * 256 + (int)((b >> 16) & 0xFF)) ^
                         Unsafe.Add(ref t, 4 * 256 + (int)((b >> 24) & 0xFF)) ^
                         Unsafe.Add(ref t, 3 * 256 + (int)((b >> 32) & 0xFF)) ^
                         Unsafe.Add(ref t, 2 * 256 + (int)((b >> 40) & 0xFF)) ^
                         Unsafe.Add(ref t, 256 + (int)((b >> 48) & 0xFF)) ^
                         Unsafe.Add(ref t, (int)(b >> 56)));
            p = ref Unsafe.Add(ref p, 16);
            remaining -= 16;
        }

        // Typical keys are short: take the rest 8 and then 4 bytes at a time with the same tables.
        if (remaining >= 8)
        {
            var a = BinaryPrimitives.ReadUInt64LittleEndian(MemoryMarshal.CreateReadOnlySpan(ref p, 8));
            crc = (uint)(Unsafe.Add(ref t, 7 * 256 + (int)(((crc >> 8) ^ a) & 0xFF)) ^
                         Unsafe.Add(ref t, 6 * 256 + (int)((crc ^ (a >> 8)) & 0xFF)) ^
                         Unsafe.Add(ref t, 5 * 256 + (int)((a >> 16) & 0xFF)) ^
                         Unsafe.Add(ref t, 4 * 256 + (int)((a >> 24) & 0xFF)) ^
                         Unsafe.Add(ref t, 3 * 256 + (int)((a >> 32) & 0xFF)) ^
                         Unsafe.Add(ref t, 2 * 256 + (int)((a >> 40) & 0xFF)) ^
                         Unsafe.Add(ref t, 256 + (int)((a >> 48) & 0xFF)) ^
                         Unsafe.Add(ref t, (int)(a >> 56)));
            p = ref Unsafe.Add(ref p, 8);
            remaining -= 8;
        }

        if (remaining >= 4)
        {
            var a = BinaryPrimitives.ReadUInt32LittleEndian(MemoryMarshal.CreateReadOnlySpan(ref p, 4));
            crc = (uint)(Unsafe.Add(ref t, 3 * 256 + (int)(((crc >> 8) ^ a) & 0xFF)) ^
                         Unsafe.Add(ref t, 2 * 256 + (int)((crc ^ (a >> 8)) & 0xFF)) ^
                         Unsafe.Add(ref t, 256 + (int)((a >> 16) & 0xFF)) ^
                         Unsafe.Add(ref t, (int)(a >> 24)));
            p = ref Unsafe.Add(ref p, 4);
            remaining -= 4;
        }

        for (var i = 0; i < remaining; i++)
            crc = ((crc << 8) ^ Unsafe.Add(ref t, (int)(((crc >> 8) ^ Unsafe.Add(ref p, i)) & 0xFF))) & 0xFFFF;
        return (ushort)crc;
    }

    private static ushort[] BuildTable()
    {
        var table = new ushort[16 * 256];
        for (var i = 0; i < 256; i++)
        {
            var crc = (ushort)(i << 8);
            for (var bit = 0; bit < 8; bit++)
                crc = (crc & 0x8000) != 0 ? (ushort)((crc << 1) ^ 0x1021) : (ushort)(crc << 1);
            table[i] = crc;
        }

        for (var k = 1; k < 16; k++)
        {
            for (var i = 0; i < 256; i++)
            {
                var previous = table[(k - 1) * 256 + i];
                table[k * 256 + i] = (ushort)((previous << 8) ^ table[previous >> 8]);
            }
        }

        return table;
    }
}

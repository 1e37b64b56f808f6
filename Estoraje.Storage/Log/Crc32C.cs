using System.Buffers.Binary;
using System.Numerics;

namespace Estoraje.Storage.Log;

/// <summary>
/// CRC-32C (Castagnoli) over a span. <see cref="BitOperations.Crc32C(uint, ulong)"/> uses the SSE4.2 or ARMv8
/// CRC instruction when the CPU has one, so checking every record on write, read and recovery is cheap.
/// </summary>
internal static class Crc32C
{
    /// <summary>The CRC-32C of <paramref name="data"/> (initial value and final xor 0xFFFFFFFF, as iSCSI and ext4).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(~0u, data);

    /// <summary>Continues a raw (not inverted) CRC over more bytes.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var i = 0;
        for (; i + 8 <= data.Length; i += 8)
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        for (; i < data.Length; i++)
            crc = BitOperations.Crc32C(crc, data[i]);
        return crc;
    }
}

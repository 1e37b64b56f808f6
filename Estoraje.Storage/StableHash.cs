using System.Buffers.Binary;
using System.Numerics;

namespace Estoraje.Storage;

/// <summary>
/// A 64-bit hash that is the same on every node and every run (unlike <see cref="HashCode"/>), for digests
/// that replicas compare. Not cryptographic: replicas trust each other; it only has to spread well.
/// </summary>
public static class StableHash
{
    /// <summary>Hash of a byte string.</summary>
    public static ulong Hash64(ReadOnlySpan<byte> data)
    {
        var h = 0x9E3779B97F4A7C15UL ^ (ulong)data.Length;
        var i = 0;
        for (; i + 8 <= data.Length; i += 8)
            h = BitOperations.RotateLeft((h ^ BinaryPrimitives.ReadUInt64LittleEndian(data[i..])) * 0xFF51AFD7ED558CCDUL, 29);
        ulong tail = 0;
        for (var shift = 0; i < data.Length; i++, shift += 8)
            tail |= (ulong)data[i] << shift;
        return Mix(h ^ tail);
    }

    /// <summary>The digest term of one (key, version) pair: digests add these up, so order does not matter.</summary>
    public static ulong KeyVersion(ReadOnlySpan<byte> key, long version) => Mix(Hash64(key) ^ Mix((ulong)version));

    /// <summary>SplitMix64's finalizer: every input bit affects every output bit.</summary>
    public static ulong Mix(ulong x)
    {
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}

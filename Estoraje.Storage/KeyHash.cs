using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Estoraje.Storage;

/// <summary>
/// The stores' in-memory hash of a key (buckets, shards, the cache's ghost entries): a keyed multiply-mix hash in the
/// manner of wyhash and rapidhash, with a seed drawn per process so that keys cannot be chosen to collide (as
/// <see cref="HashCode"/>, which it replaces: a key of 16 bytes takes four loads and two 64-bit multiplies instead
/// of HashCode's byte-block rounds). Never stored: a restart may hash differently.
/// </summary>
internal static class KeyHash
{
    private const ulong Secret0 = 0x2d358dccaa6c78a5;
    private const ulong Secret1 = 0x8bb84b93962eacc9;
    private const ulong Secret2 = 0x4b33a62ed433d4a3;

    private static readonly ulong s_seed = (ulong)Random.Shared.NextInt64() ^ Secret2;

    /// <summary>The hash of <paramref name="key"/>.</summary>
    public static int Of(ReadOnlySpan<byte> key)
    {
        var seed = s_seed;
        var length = key.Length;
        ulong a, b;
        if (length <= 16)
        {
            if (length >= 4)
            {
                // Two overlapping 4-byte reads from each end cover every byte of 4 to 16.
                var middle = (length >> 3) << 2;
                a = (ulong)Read32(key, 0) << 32 | Read32(key, middle);
                b = (ulong)Read32(key, length - 4) << 32 | Read32(key, length - 4 - middle);
            }
            else if (length > 0)
            {
                a = (ulong)key[0] << 16 | (ulong)key[length >> 1] << 8 | key[length - 1];
                b = 0;
            }
            else
            {
                a = b = 0;
            }
        }
        else
        {
            var at = 0;
            while (length - at > 16)
            {
                seed = Mix(Read64(key, at) ^ Secret1, Read64(key, at + 8) ^ seed);
                at += 16;
            }

            a = Read64(key, length - 16);
            b = Read64(key, length - 8);
        }

        return (int)Mix(Secret1 ^ (ulong)length, Mix(a ^ Secret1, b ^ seed));
    }

    // The 128-bit product folded to 64 bits.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong a, ulong b)
    {
        var high = Math.BigMul(a, b, out var low);
        return high ^ low;
    }

    private static uint Read32(ReadOnlySpan<byte> key, int at) => BinaryPrimitives.ReadUInt32LittleEndian(key[at..]);

    private static ulong Read64(ReadOnlySpan<byte> key, int at) => BinaryPrimitives.ReadUInt64LittleEndian(key[at..]);
}

using System.Text;
using Estoraje.Storage;

namespace Estoraje.Tests.Storage;

/// <summary>The stores' key hash: every byte counts, and keys spread evenly over buckets and shards.</summary>
public sealed class KeyHashTests
{
    [Fact]
    public void Every_byte_of_a_key_of_any_length_changes_the_hash()
    {
        var random = new Random(7);
        for (var length = 1; length <= 70; length++)
        {
            var key = new byte[length];
            random.NextBytes(key);
            var hash = KeyHash.Of(key);
            for (var i = 0; i < length; i++)
            {
                key[i] ^= 0x01;
                Assert.NotEqual(hash, KeyHash.Of(key));
                key[i] ^= 0x01;
            }
        }
    }

    [Fact]
    public void Keys_of_different_lengths_with_the_same_bytes_hash_apart()
    {
        var hashes = Enumerable.Range(0, 40).Select(n => KeyHash.Of(new byte[n])).ToHashSet();
        Assert.Equal(40, hashes.Count);
    }

    [Theory]
    [InlineData("key:{0:D12}")]
    [InlineData("{0}")]
    [InlineData("user:{0}:profile:settings:theme")]
    public void Sequential_keys_spread_evenly_over_low_and_high_bits(string format)
    {
        const int Keys = 200_000;
        const int Bins = 1024;
        var low = new int[Bins];
        var high = new int[64];
        for (var i = 0; i < Keys; i++)
        {
            var hash = (uint)KeyHash.Of(Encoding.ASCII.GetBytes(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, i)));
            low[hash & (Bins - 1)]++;
            high[hash >> 26]++;
        }

        // A chi-square far beyond what a uniform spread gives (its mean is bins − 1, its deviation √(2 (bins − 1))).
        Assert.InRange(ChiSquare(low, Keys), 0, Bins + 8 * Math.Sqrt(2 * Bins));
        Assert.InRange(ChiSquare(high, Keys), 0, 64 + 8 * Math.Sqrt(2 * 64));
    }

    private static double ChiSquare(int[] counts, int total)
    {
        var expected = (double)total / counts.Length;
        return counts.Sum(c => (c - expected) * (c - expected) / expected);
    }
}

using System.Text;
using Estoraje.Storage.Collections;

namespace Estoraje.Tests.Storage.Collections;

public class HashValueTests
{
    [Fact]
    public void A_hash_survives_encoding_with_binary_and_empty_fields()
    {
        var hash = new HashValue();
        var random = new Random(7);
        var model = new Dictionary<string, byte[]>();
        for (var i = 0; i < 500; i++)
        {
            var field = new byte[random.Next(0, 300)];
            random.NextBytes(field);
            var value = new byte[random.Next(0, 20_000)];
            random.NextBytes(value);
            hash.Set(field, value);
            model[Convert.ToHexString(field)] = value;
        }

        var decoded = HashValue.Decode(hash.Encode());
        Assert.Equal(model.Count, decoded.Count);
        foreach (var (field, value) in model)
        {
            Assert.True(decoded.TryGet(Convert.FromHexString(field), out var got));
            Assert.Equal(value, got);
            Assert.True(HashValue.TryFind(hash.Encode(), Convert.FromHexString(field), out var found));
            Assert.Equal(value, found.ToArray());
        }
    }

    [Fact]
    public void Set_reports_new_fields_and_remove_reports_missing_ones()
    {
        var hash = new HashValue();
        Assert.True(hash.Set("a"u8, [1]));
        Assert.False(hash.Set("a"u8, [2]));
        Assert.True(hash.TryGet("a"u8, out var value));
        Assert.Equal([2], value);
        Assert.False(hash.Remove("b"u8));
        Assert.True(hash.Remove("a"u8));
        Assert.Equal(0, hash.Count);
        Assert.False(HashValue.TryFind(hash.Encode(), "a"u8, out _));
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 9, 0 })]
    [InlineData(new byte[] { 1, 2, 1, (byte)'a' })]
    [InlineData(new byte[] { 1, 1, 200, 200, 200, 200, 200 })]
    public void Bytes_that_are_not_a_hash_are_refused_not_misread(byte[] bytes)
    {
        Assert.Throws<InvalidDataException>(() => HashValue.Decode(bytes));
        Assert.Throws<InvalidDataException>(() => HashValue.TryFind(bytes, "a"u8, out _));
    }

    [Fact]
    public void Lengths_take_as_many_bytes_as_leb128_needs()
    {
        Assert.Equal(1, CollectionEncoding.LengthSize(127));
        Assert.Equal(2, CollectionEncoding.LengthSize(128));
        Assert.Equal(5, CollectionEncoding.LengthSize(int.MaxValue));
        var hash = new HashValue();
        hash.Set(Encoding.ASCII.GetBytes(new string('f', 200)), new byte[70_000]);
        // Format byte, count (1), field length (2) + 200, value length (3) + 70,000.
        Assert.Equal(1 + 1 + 2 + 200 + 3 + 70_000, hash.Encode().Length);
    }
}

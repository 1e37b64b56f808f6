using System.Text;
using Estoraje.Ring;

namespace Estoraje.Tests.Ring;

public class KeySlotTests
{
    [Fact]
    public void Crc16_matches_the_xmodem_check_value()
    {
        // The CRC-16/XMODEM catalogue check value, also quoted in the Redis Cluster specification.
        Assert.Equal(0x31C3, KeySlot.Crc16("123456789"u8));
    }

    [Theory]
    [InlineData("foo", 12182)]
    [InlineData("somekey", 11058)]
    [InlineData("foo{hash_tag}", 2515)]
    public void Slots_match_the_examples_published_by_Redis(string key, int slot) =>
        Assert.Equal(slot, KeySlot.Of(Encoding.UTF8.GetBytes(key)));

    [Theory]
    [InlineData("{user1000}.following", "user1000")]
    [InlineData("foo{}{bar}", "foo{}{bar}")]
    [InlineData("foo{{bar}}zap", "{bar")]
    [InlineData("foo{bar}{zap}", "bar")]
    [InlineData("{}", "{}")]
    [InlineData("{", "{")]
    [InlineData("}{", "}{")]
    [InlineData("a}b{c}", "c")]
    [InlineData("no tag", "no tag")]
    public void Only_the_first_non_empty_tag_is_hashed(string key, string hashed)
    {
        var bytes = Encoding.UTF8.GetBytes(key);
        Assert.Equal(hashed, Encoding.UTF8.GetString(KeySlot.HashedPart(bytes)));
        Assert.Equal(KeySlot.Of(Encoding.UTF8.GetBytes(hashed)) , KeySlot.Of(bytes));
    }

    [Fact]
    public void Keys_with_the_same_tag_share_a_slot() =>
        Assert.Equal(KeySlot.Of("{user1000}.following"u8), KeySlot.Of("{user1000}.followers"u8));

    [Fact]
    public void Crc16_agrees_with_a_bit_by_bit_reference_on_random_binary_keys()
    {
        var random = new Random(7);
        for (var i = 0; i < 20_000; i++)
        {
            var key = new byte[random.Next(0, 300)];
            random.NextBytes(key);
            Assert.Equal(ReferenceCrc16(key), KeySlot.Crc16(key));
            Assert.InRange(KeySlot.Of(key), 0, KeySlot.Count - 1);
        }
    }

    private static ushort ReferenceCrc16(byte[] data)
    {
        ushort crc = 0;
        foreach (var b in data)
        {
            crc ^= (ushort)(b << 8);
            for (var bit = 0; bit < 8; bit++)
                crc = (crc & 0x8000) != 0 ? (ushort)((crc << 1) ^ 0x1021) : (ushort)(crc << 1);
        }

        return crc;
    }
}

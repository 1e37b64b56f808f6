using Estoraje.Storage.Collections;

namespace Estoraje.Tests.Storage.Collections;

public class SetValueTests
{
    [Fact]
    public void A_set_survives_encoding_with_binary_and_empty_members()
    {
        var set = new SetValue();
        var random = new Random(5);
        var model = new HashSet<string>();
        for (var i = 0; i < 800; i++)
        {
            var member = new byte[random.Next(0, 300)];
            random.NextBytes(member);
            Assert.Equal(model.Add(Convert.ToHexString(member)), set.Add(member));
        }

        var encoded = set.Encode();
        var decoded = SetValue.Decode(encoded);
        Assert.Equal(model.Count, decoded.Count);
        Assert.Equal(model, decoded.Members.Select(Convert.ToHexString).ToHashSet());
        foreach (var member in model)
        {
            Assert.True(decoded.Contains(Convert.FromHexString(member)));
            Assert.True(SetValue.Contains(encoded, Convert.FromHexString(member)));
        }

        Assert.False(SetValue.Contains(encoded, new byte[301]));
    }

    [Fact]
    public void Add_reports_new_members_and_remove_reports_missing_ones()
    {
        var set = new SetValue();
        Assert.True(set.Add("a"u8));
        Assert.False(set.Add("a"u8));
        Assert.True(set.Add([]));
        Assert.True(set.Contains([]));
        Assert.False(set.Remove("b"u8));
        Assert.True(set.Remove("a"u8));
        Assert.True(set.Remove([]));
        Assert.Equal(0, set.Count);
        var encoded = set.Encode();
        Assert.Equal(0, SetValue.Decode(encoded).Count);
        Assert.False(SetValue.Contains(encoded, "a"u8));
    }

    [Fact]
    public void Adds_and_removals_on_the_encoding_match_a_set_model()
    {
        var random = new Random(9);
        var model = new HashSet<string>();
        byte[] encoded = [];
        for (var step = 0; step < 2000; step++)
        {
            var members = Enumerable.Range(0, random.Next(1, 5)).Select(_ => new[] { (byte)random.Next(12) }).ToArray();
            int changed;
            byte[]? next;
            if (random.Next(3) > 0)
            {
                next = SetValue.Add(encoded, members, out changed);
                Assert.Equal(members.Count(m => model.Add(Convert.ToHexString(m))), changed);
            }
            else
            {
                changed = 0;
                next = encoded.Length == 0 ? null : SetValue.Remove(encoded, members, out changed);
                Assert.Equal(members.Count(m => model.Remove(Convert.ToHexString(m))), changed);
            }

            encoded = next ?? encoded;
            var decoded = SetValue.Decode(encoded.Length == 0 ? new SetValue().Encode() : encoded);
            Assert.Equal(model, decoded.Members.Select(Convert.ToHexString).ToHashSet());
            Assert.Equal(model.Count, decoded.Count);
        }
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 9, 0 })]
    [InlineData(new byte[] { 1, 2, 1, (byte)'a' })]
    [InlineData(new byte[] { 1, 1, 200, 200, 200, 200, 200 })]
    public void Bytes_that_are_not_a_set_are_refused_not_misread(byte[] bytes)
    {
        Assert.Throws<InvalidDataException>(() => SetValue.Decode(bytes));
        Assert.Throws<InvalidDataException>(() => SetValue.Contains(bytes, "b"u8));
        Assert.Throws<InvalidDataException>(() => SetValue.Remove(bytes, ["b"u8.ToArray()], out _));
        if (bytes.Length > 0)
            Assert.Throws<InvalidDataException>(() => SetValue.Add(bytes, ["b"u8.ToArray()], out _));
    }
}

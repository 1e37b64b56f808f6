using Estoraje.Storage.Collections;

namespace Estoraje.Tests.Storage.Collections;

public class ListValueTests
{
    [Fact]
    public void Random_splices_slices_and_removals_match_a_list_model()
    {
        var random = new Random(11);
        var model = new List<byte[]>();
        var encoded = ListValue.Encode([]);
        for (var step = 0; step < 3000; step++)
        {
            switch (random.Next(4))
            {
                case 0 or 1:
                {
                    var index = random.Next(model.Count + 1);
                    var removeCount = random.Next(Math.Min(3, model.Count - index) + 1);
                    var inserted = Enumerable.Range(0, random.Next(4)).Select(_ => Element(random)).ToArray();
                    encoded = ListValue.Splice(encoded, index, removeCount, inserted);
                    model.RemoveRange(index, removeCount);
                    model.InsertRange(index, inserted);
                    break;
                }

                case 2 when model.Count > 0:
                {
                    var start = random.Next(model.Count);
                    var count = random.Next(model.Count - start + 1);
                    encoded = ListValue.Slice(encoded, start, count);
                    model = model.GetRange(start, count);
                    break;
                }

                case 3:
                {
                    var value = Element(random);
                    var count = random.Next(-2, 3);
                    var next = ListValue.Remove(encoded, value, count, out var removed);
                    var expected = RemoveFromModel(model, value, count);
                    Assert.Equal(expected, removed);
                    Assert.Equal(removed == 0, next is null);
                    encoded = next ?? encoded;
                    break;
                }
            }

            Assert.Equal(model.Count, ListValue.CountOf(encoded));
            Assert.Equal(model, ListValue.Decode(encoded));
        }
    }

    [Fact]
    public void TryGet_reads_from_the_head_and_negative_indexes_from_the_tail()
    {
        var encoded = ListValue.Encode(["a"u8.ToArray(), "bb"u8.ToArray(), [], "d"u8.ToArray()]);
        Assert.True(ListValue.TryGet(encoded, 1, out var element));
        Assert.Equal("bb"u8.ToArray(), element.ToArray());
        Assert.True(ListValue.TryGet(encoded, -1, out element));
        Assert.Equal("d"u8.ToArray(), element.ToArray());
        Assert.True(ListValue.TryGet(encoded, -4, out element));
        Assert.Equal("a"u8.ToArray(), element.ToArray());
        Assert.True(ListValue.TryGet(encoded, 2, out element));
        Assert.True(element.IsEmpty);
        Assert.False(ListValue.TryGet(encoded, 4, out _));
        Assert.False(ListValue.TryGet(encoded, -5, out _));
        Assert.False(ListValue.TryGet(encoded, long.MinValue, out _));
        Assert.False(ListValue.TryGet(encoded, long.MaxValue, out _));
    }

    [Fact]
    public void An_empty_span_is_an_empty_list_that_can_be_pushed_to()
    {
        Assert.Equal(0, ListValue.CountOf([]));
        var encoded = ListValue.Splice([], 0, 0, ["x"u8.ToArray()]);
        Assert.Equal(["x"u8.ToArray()], ListValue.Decode(encoded));
        Assert.Equal(ListValue.Encode(["x"u8.ToArray()]), encoded);
    }

    [Fact]
    public void Remove_with_the_smallest_count_removes_every_match_from_the_tail()
    {
        var encoded = ListValue.Encode(["a"u8.ToArray(), "b"u8.ToArray(), "a"u8.ToArray()]);
        var next = ListValue.Remove(encoded, "a"u8, long.MinValue, out var removed);
        Assert.Equal(2, removed);
        Assert.Equal(["b"u8.ToArray()], ListValue.Decode(next!));
    }

    [Fact]
    public void Elements_longer_than_one_length_byte_keep_their_bytes()
    {
        var big = new byte[70_000];
        new Random(3).NextBytes(big);
        var encoded = ListValue.Encode([big, new byte[200]]);
        // Format byte, count, then each length prefix (3 and 2 bytes) and bytes.
        Assert.Equal(1 + 1 + 3 + 70_000 + 2 + 200, encoded.Length);
        Assert.True(ListValue.TryGet(encoded, 0, out var element));
        Assert.Equal(big, element.ToArray());
    }

    [Fact]
    public void Splice_and_slice_refuse_positions_outside_the_list()
    {
        var encoded = ListValue.Encode(["a"u8.ToArray()]);
        Assert.Throws<ArgumentOutOfRangeException>(() => ListValue.Splice(encoded, 2, 0, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => ListValue.Splice(encoded, 0, 2, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => ListValue.Slice(encoded, 1, 1));
    }

    [Theory]
    [InlineData(new byte[] { 9, 0 })]
    [InlineData(new byte[] { 1, 2, 1, (byte)'a' })]
    [InlineData(new byte[] { 1, 1, 200, 200, 200, 200, 200 })]
    [InlineData(new byte[] { 1, 0x80 })]
    public void Bytes_that_are_not_a_list_are_refused_not_misread(byte[] bytes)
    {
        Assert.Throws<InvalidDataException>(() => ListValue.Decode(bytes));
        Assert.Throws<InvalidDataException>(() => ListValue.TryGet(bytes, -1, out _));
        Assert.Throws<InvalidDataException>(() => ListValue.Remove(bytes, "a"u8, 0, out _));
        // A pop from the tail walks every element; a push at the head walks none, so it copies what it cannot read.
        Assert.Throws<InvalidDataException>(() => ListValue.Splice(bytes, bytes[1] - 1, 1, []));
    }

    private static byte[] Element(Random random) => [(byte)('a' + random.Next(4))];

    private static int RemoveFromModel(List<byte[]> model, byte[] value, int count)
    {
        var indexes = Enumerable.Range(0, model.Count).Where(i => model[i].AsSpan().SequenceEqual(value)).ToList();
        if (count < 0)
            indexes.Reverse();
        var chosen = count == 0 ? indexes : indexes.Take(Math.Abs(count)).ToList();
        foreach (var i in chosen.OrderDescending())
            model.RemoveAt(i);
        return chosen.Count;
    }
}

using System.Buffers.Binary;
using System.Text;
using Estoraje.Storage.Collections;

namespace Estoraje.Tests.Storage.Collections;

public class SortedSetValueTests
{
    [Fact]
    public void A_sorted_set_keeps_redis_order_through_random_changes_and_encoding()
    {
        var set = new SortedSetValue();
        var model = new Dictionary<string, double>();
        var random = new Random(11);
        double[] scores = [0, -0.0, 1, -1, 2.5, double.PositiveInfinity, double.NegativeInfinity, 1e300, -1e-300];
        for (var i = 0; i < 3000; i++)
        {
            var member = new byte[random.Next(0, 4)];
            random.NextBytes(member);
            var key = Convert.ToHexString(member);
            if (random.Next(4) == 0)
            {
                Assert.Equal(model.Remove(key), set.Remove(member));
                continue;
            }

            var score = scores[random.Next(scores.Length)];
            var isNew = !model.ContainsKey(key);
            // Redis keeps the old score when the new one is equal (0 and -0 included).
            if (isNew || model[key] != score)
                model[key] = score;
            Assert.Equal(isNew, set.Set(member, score));
        }

        var expected = model.Select(p => new ScoredMember(Convert.FromHexString(p.Key), p.Value))
            .Order(Comparer<ScoredMember>.Create((a, b) => SortedSetValue.Compare(a, b.Score, b.Member))).ToList();
        AssertSame(expected, set.Ordered);
        var decoded = SortedSetValue.Decode(set.Encode());
        AssertSame(expected, decoded.Ordered);
        for (var rank = 0; rank < expected.Count; rank++)
        {
            Assert.Equal(rank, decoded.RankOf(expected[rank].Member));
            Assert.True(SortedSetValue.TryFindScore(set.Encode(), expected[rank].Member, out var score));
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected[rank].Score), BitConverter.DoubleToInt64Bits(score));
        }
    }

    [Fact]
    public void Negative_zero_and_infinities_are_kept_as_given()
    {
        var set = new SortedSetValue();
        set.Set("z"u8, -0.0);
        set.Set("p"u8, double.PositiveInfinity);
        set.Set("n"u8, double.NegativeInfinity);
        set.Set("a"u8, 0.0);
        var decoded = SortedSetValue.Decode(set.Encode());
        Assert.Equal(["n", "a", "z", "p"], decoded.Ordered.Select(e => Encoding.ASCII.GetString(e.Member)));
        Assert.True(decoded.TryGetScore("z"u8, out var zero));
        Assert.True(double.IsNegative(zero) && zero == 0);
        Assert.True(decoded.TryGetScore("p"u8, out var inf) && double.IsPositiveInfinity(inf));
        // A zero of the other sign is the same score: nothing moves.
        Assert.False(decoded.Set("z"u8, 0.0));
        Assert.True(decoded.TryGetScore("z"u8, out zero) && double.IsNegative(zero));
    }

    [Fact]
    public void A_nan_score_is_refused_in_memory_and_in_stored_bytes()
    {
        var set = new SortedSetValue();
        Assert.Throws<ArgumentException>(() => set.Set("a"u8, double.NaN));
        Assert.Equal(0, set.Count);
        Assert.Throws<InvalidDataException>(() => SortedSetValue.Decode(Encode(("a", double.NaN))));
    }

    [Fact]
    public void Stored_bytes_out_of_order_or_with_a_member_twice_are_refused()
    {
        Assert.Throws<InvalidDataException>(() => SortedSetValue.Decode(Encode(("a", 2), ("b", 1))));
        Assert.Throws<InvalidDataException>(() => SortedSetValue.Decode(Encode(("b", 1), ("a", 1))));
        Assert.Throws<InvalidDataException>(() => SortedSetValue.Decode(Encode(("a", 1), ("a", 1))));
        Assert.Throws<InvalidDataException>(() => SortedSetValue.Decode(Encode(("a", 1), ("a", 2))));
        Assert.Equal(2, SortedSetValue.Decode(Encode(("b", 1), ("a", 2))).Count);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 9, 0 })]
    [InlineData(new byte[] { 1, 1, 1, (byte)'a' })]
    [InlineData(new byte[] { 1, 1, 1, (byte)'a', 0, 0, 0, 0, 0, 0, 0 })]
    [InlineData(new byte[] { 1, 0, 7 })]
    [InlineData(new byte[] { 1, 1, 200, 200, 200, 200, 200 })]
    public void Bytes_that_are_not_a_sorted_set_are_refused_not_misread(byte[] bytes)
    {
        Assert.Throws<InvalidDataException>(() => SortedSetValue.Decode(bytes));
        if (bytes.Length < 3 || bytes[1] != 0)
            Assert.Throws<InvalidDataException>(() => SortedSetValue.TryFindScore(bytes, "b"u8, out _));
    }

    [Fact]
    public void Score_ranges_find_the_ranks_inside_with_open_and_closed_ends()
    {
        var set = new SortedSetValue();
        foreach (var (member, score) in new[] { ("a", 1.0), ("b", 2.0), ("c", 2.0), ("d", 3.0), ("e", double.PositiveInfinity) })
            set.Set(Encoding.ASCII.GetBytes(member), score);

        Assert.Equal((1, 3), set.Find(new ScoreRange(2, false, 2, false)));
        Assert.Equal((0, 0), set.Find(new ScoreRange(2, true, 2, false)));
        Assert.Equal((3, 5), set.Find(new ScoreRange(2, true, double.PositiveInfinity, false)));
        Assert.Equal((3, 4), set.Find(new ScoreRange(2, true, double.PositiveInfinity, true)));
        Assert.Equal((0, 5), set.Find(new ScoreRange(double.NegativeInfinity, false, double.PositiveInfinity, false)));
        Assert.Equal((0, 0), set.Find(new ScoreRange(3, false, 1, false)));
        Assert.Equal((0, 0), set.Find(new ScoreRange(5, false, 6, false)));
    }

    [Fact]
    public void Lex_ranges_follow_redis_bounds()
    {
        var set = new SortedSetValue();
        foreach (var member in new[] { "a", "b", "c", "d", "e" })
            set.Set(Encoding.ASCII.GetBytes(member), 0);
        var b = new LexBound("b"u8.ToArray(), false, 0);
        var dOpen = new LexBound("d"u8.ToArray(), true, 0);

        Assert.Equal((1, 3), set.Find(new LexRange(b, dOpen)));
        Assert.Equal((0, 5), set.Find(new LexRange(LexBound.Lowest, LexBound.Highest)));
        Assert.Equal((0, 3), set.Find(new LexRange(LexBound.Lowest, dOpen)));
        Assert.Equal((0, 0), set.Find(new LexRange(LexBound.Highest, LexBound.Lowest)));
        Assert.Equal((0, 0), set.Find(new LexRange(b with { Exclusive = true }, b)));
        Assert.True(new LexRange(LexBound.Lowest, LexBound.Lowest).IsEmpty);
        Assert.False(new LexRange(b, b).IsEmpty);
    }

    [Fact]
    public void Remove_range_drops_members_from_order_and_lookup()
    {
        var set = new SortedSetValue();
        for (var i = 0; i < 10; i++)
            set.Set([(byte)('a' + i)], i);
        set.RemoveRange(2, 5);
        Assert.Equal("abhij", Encoding.ASCII.GetString([.. set.Ordered.Select(e => e.Member[0])]));
        Assert.False(set.TryGetScore("c"u8, out _));
        Assert.Equal(2, set.RankOf("h"u8));
        Assert.Equal(-1, set.RankOf("d"u8));
    }

    private static void AssertSame(List<ScoredMember> expected, IReadOnlyList<ScoredMember> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Member, actual[i].Member);
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected[i].Score), BitConverter.DoubleToInt64Bits(actual[i].Score));
        }
    }

    // An encoding written by hand, in the given order (a valid layout whatever the order).
    private static byte[] Encode(params (string Member, double Score)[] elements)
    {
        var bytes = new List<byte> { CollectionEncoding.Format, (byte)elements.Length };
        foreach (var (member, score) in elements)
        {
            bytes.Add((byte)member.Length);
            bytes.AddRange(Encoding.ASCII.GetBytes(member));
            var buffer = new byte[8];
            BinaryPrimitives.WriteDoubleLittleEndian(buffer, score);
            bytes.AddRange(buffer);
        }

        return [.. bytes];
    }
}

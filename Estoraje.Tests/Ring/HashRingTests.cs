using Estoraje.Ring;
using Xunit.Abstractions;

namespace Estoraje.Tests.Ring;

public class HashRingTests(ITestOutputHelper output)
{
    private static RingMember[] Members(int count, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => new RingMember($"{random.NextInt64():x16}"))];
    }

    private static (double Primary, double Replica) Imbalance(HashRing ring)
    {
        var primaries = new int[ring.Members.Count];
        var replicas = new int[ring.Members.Count];
        for (var slot = 0; slot < KeySlot.Count; slot++)
        {
            primaries[ring.PrimaryOf(slot)]++;
            foreach (var m in ring.ReplicasOf(slot))
                replicas[m]++;
        }

        return (primaries.Max() / primaries.Average(), replicas.Max() / replicas.Average());
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(10)]
    [InlineData(32)]
    public void Busiest_member_holds_at_most_115_percent_of_the_mean_share(int members)
    {
        for (var seed = 1; seed <= 10; seed++)
        {
            var (primary, replica) = Imbalance(HashRing.Build(Members(members, seed)));
            output.WriteLine($"{members} members, seed {seed}: max/mean primaries {primary:F3}, replicas {replica:F3}");
            Assert.InRange(primary, 1.0, 1.15);
            Assert.InRange(replica, 1.0, 1.15);
        }
    }

    [Fact]
    public void Balance_at_100_members_is_reported()
    {
        var (primary, replica) = Imbalance(HashRing.Build(Members(100, 1)));
        output.WriteLine($"100 members: max/mean primaries {primary:F3}, replicas {replica:F3}");
        // Beyond the 3-32 target; bounded loosely so a regression in token placement still shows.
        Assert.InRange(primary, 1.0, 1.35);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(10)]
    [InlineData(32)]
    public void Adding_a_member_moves_about_one_share_of_primaries_and_only_to_it(int members)
    {
        var before = Members(members, 3);
        var newcomer = new RingMember("newcomer");
        var from = HashRing.Build(before);
        var to = HashRing.Build([.. before, newcomer]);
        var changes = RingDiff.Compute(from, to);

        var moved = changes.Count(c => c.PrimaryChanged);
        var expected = KeySlot.Count / (members + 1.0);
        Assert.InRange(moved, expected * 0.75, expected * 1.25);
        Assert.All(changes.Where(c => c.PrimaryChanged), c => Assert.Equal("newcomer", c.ToPrimary));
        Assert.All(changes, c =>
        {
            Assert.Equal(["newcomer"], c.Gained);
            Assert.True(c.Lost.Count <= 1);
        });
    }

    [Theory]
    [InlineData(4)]
    [InlineData(10)]
    public void Removing_a_member_moves_only_its_slots(int members)
    {
        var all = Members(members, 5);
        var leaving = all[1];
        var from = HashRing.Build(all);
        var to = HashRing.Build(all.Where(m => m != leaving));
        var leavingIndex = from.IndexOf(leaving.Id);

        var changes = RingDiff.Compute(from, to);
        Assert.NotEmpty(changes);
        foreach (var change in changes)
        {
            Assert.Contains(leavingIndex, from.ReplicasOf(change.Slot).ToArray());
            Assert.Equal([leaving.Id], change.Lost);
            Assert.Equal(change.PrimaryChanged, change.FromPrimary == leaving.Id);
        }

        var heldBefore = Enumerable.Range(0, KeySlot.Count).Count(s => from.ReplicasOf(s).Contains(leavingIndex));
        Assert.Equal(heldBefore, changes.Count);
    }

    [Theory]
    [InlineData(1, 3)]
    [InlineData(2, 3)]
    [InlineData(3, 3)]
    [InlineData(7, 3)]
    [InlineData(7, 5)]
    public void Replica_sets_hold_n_distinct_members_or_all_of_them(int members, int replicas)
    {
        var ring = HashRing.Build(Members(members, 11), new RingOptions { Replicas = replicas });
        Assert.Equal(Math.Min(members, replicas), ring.ReplicaCount);
        for (var slot = 0; slot < KeySlot.Count; slot++)
        {
            var set = ring.ReplicasOf(slot).ToArray();
            Assert.Equal(set.Length, set.Distinct().Count());
            Assert.Equal(ring.PrimaryOf(slot), set[0]);
        }
    }

    [Fact]
    public void Replica_sets_span_distinct_zones_when_there_are_enough()
    {
        var members = Enumerable.Range(0, 9).Select(i => new RingMember($"node-{i}", Zone: $"zone-{i % 3}")).ToArray();
        var ring = HashRing.Build(members);
        for (var slot = 0; slot < KeySlot.Count; slot++)
        {
            var zones = ring.ReplicasOf(slot).ToArray().Select(m => ring.Members[m].Zone).Distinct().Count();
            Assert.Equal(3, zones);
        }
    }

    [Fact]
    public void Replica_sets_cover_every_zone_when_zones_are_fewer_than_replicas()
    {
        var members = new[]
        {
            new RingMember("a", Zone: "east"), new RingMember("b", Zone: "east"), new RingMember("c", Zone: "east"),
            new RingMember("d", Zone: "west"),
        };
        var ring = HashRing.Build(members);
        for (var slot = 0; slot < KeySlot.Count; slot++)
        {
            var set = ring.ReplicasOf(slot).ToArray();
            Assert.Equal(3, set.Distinct().Count());
            Assert.Contains(set, m => ring.Members[m].Zone == "west");
        }
    }

    [Fact]
    public void The_table_does_not_depend_on_insertion_order()
    {
        var members = Members(12, 21);
        var reference = HashRing.Build(members);
        var random = new Random(4);
        for (var i = 0; i < 5; i++)
        {
            var shuffled = members.OrderBy(_ => random.Next()).ToArray();
            var ring = HashRing.Build(shuffled);
            Assert.Empty(RingDiff.Compute(reference, ring));
            for (var slot = 0; slot < KeySlot.Count; slot += 97)
                Assert.Equal(reference.ReplicasOf(slot).ToArray(), ring.ReplicasOf(slot).ToArray());
        }
    }

    [Fact]
    public void The_table_is_the_same_in_every_process()
    {
        // Golden values: the ring hashes ids with its own stable function (never string.GetHashCode), so
        // these primaries are what every process on every machine computes for this member list.
        var ring = HashRing.Build([new RingMember("alpha"), new RingMember("beta"), new RingMember("gamma")]);
        var slots = Enumerable.Range(0, 16).Select(i => i * 1021).ToArray();
        var primaries = string.Concat(slots.Select(s => ring.Primary(s).Id[0]));
        var again = HashRing.Build([new RingMember("gamma"), new RingMember("alpha"), new RingMember("beta")]);
        Assert.Equal(primaries, string.Concat(slots.Select(s => again.Primary(s).Id[0])));
        Assert.Equal(GoldenPrimaries, primaries);
    }

    // Computed once by this implementation; a change here means rings built by different versions disagree.
    private const string GoldenPrimaries = "gbggbaabgbggbbaa";

    [Fact]
    public void A_member_of_weight_two_gets_about_twice_the_share()
    {
        var members = new[] { new RingMember("a"), new RingMember("b"), new RingMember("heavy", Weight: 2) };
        var ring = HashRing.Build(members);
        var heavy = ring.IndexOf("heavy");
        var share = Enumerable.Range(0, KeySlot.Count).Count(s => ring.PrimaryOf(s) == heavy) / (double)KeySlot.Count;
        Assert.InRange(share, 0.5 * 0.85, 0.5 * 1.15);
    }

    [Fact]
    public void An_empty_ring_is_an_error() =>
        Assert.Throws<ArgumentException>(() => HashRing.Build([]));

    [Fact]
    public void A_duplicate_member_is_an_error() =>
        Assert.Throws<ArgumentException>(() => HashRing.Build([new RingMember("a"), new RingMember("a")]));

    [Fact]
    public void Identical_rings_have_no_differences() =>
        Assert.Empty(RingDiff.Compute(HashRing.Build(Members(5, 1)), HashRing.Build(Members(5, 1))));
}

using Estoraje.Storage;
using Estoraje.Tests.Support;

namespace Estoraje.Tests.Storage;

public class HybridClockTests
{
    [Fact]
    public void A_version_carries_its_millisecond_and_the_nodes_ordinal()
    {
        var time = new ManualTime(1_800_000_000_000);
        var clock = new HybridClock(time) { Ordinal = 37 };
        var version = clock.Next();
        Assert.Equal(1_800_000_000_000, HybridClock.TimeOf(version));
        Assert.Equal(37, HybridClock.OrdinalOf(version));
        Assert.True(version >= HybridClock.VersionAt(1_800_000_000_000));
        Assert.True(version < HybridClock.VersionAt(1_800_000_000_001));
    }

    [Fact]
    public void Two_nodes_never_issue_the_same_version_even_in_the_same_millisecond()
    {
        var time = new ManualTime();
        var a = new HybridClock(time) { Ordinal = 1 };
        var b = new HybridClock(time) { Ordinal = 2 };
        var seen = new HashSet<long>();
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(seen.Add(a.Next()));
            Assert.True(seen.Add(b.Next()));
        }
    }

    [Fact]
    public void Versions_increase_when_the_wall_clock_steps_back_and_past_every_version_observed()
    {
        var time = new ManualTime();
        var clock = new HybridClock(time) { Ordinal = 5 };
        var first = clock.Next();
        time.Advance(-10_000);
        var second = clock.Next();
        Assert.True(second > first);
        Assert.Equal(5, HybridClock.OrdinalOf(second));

        var remote = HybridClock.VersionAt(time.NowMs + 60_000) | 900;
        clock.Observe(remote);
        var third = clock.Next();
        Assert.True(third > remote);
        Assert.Equal(5, HybridClock.OrdinalOf(third));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(HybridClock.OrdinalCount)]
    public void An_ordinal_outside_its_bits_is_refused(int ordinal)
    {
        var clock = new HybridClock(TimeProvider.System);
        Assert.Throws<ArgumentOutOfRangeException>(() => clock.Ordinal = ordinal);
    }
}

using System.Diagnostics;
using Estoraje.Server.Network;

namespace Estoraje.Tests.Server.Network;

/// <summary>When an event loop polls before it sleeps (the loop's use of it: Estoraje.IntegrationTests, which run the
/// server with its default busy-poll time).</summary>
public sealed class BusyPollingTests
{
    [Fact]
    public void Without_a_poll_time_a_loop_never_polls()
    {
        var polling = new BusyPolling(TimeSpan.Zero);
        Assert.Equal(0, polling.Ticks);
        Assert.All(Enumerable.Range(0, 10), _ => Assert.False(polling.PollsNext()));
    }

    [Fact]
    public void The_poll_time_is_kept_in_stopwatch_ticks()
    {
        var polling = new BusyPolling(TimeSpan.FromMicroseconds(30));
        Assert.Equal(30 * Stopwatch.Frequency / 1_000_000, polling.Ticks);
    }

    [Fact]
    public void Polls_that_keep_finding_nothing_back_off_for_a_number_of_waits_then_poll_again()
    {
        var polling = new BusyPolling(TimeSpan.FromMicroseconds(30));
        for (var miss = 0; miss < BusyPolling.MissesBeforeBackOff; miss++)
        {
            Assert.True(polling.PollsNext());
            polling.Polled(found: false);
        }

        for (var wait = 0; wait < BusyPolling.BackOffWaits; wait++)
            Assert.False(polling.PollsNext());
        Assert.True(polling.PollsNext());

        // Still missing: one more miss backs off again.
        polling.Polled(found: false);
        Assert.False(polling.PollsNext());
    }

    [Fact]
    public void A_poll_that_finds_a_ready_socket_starts_the_count_of_misses_again()
    {
        var polling = new BusyPolling(TimeSpan.FromMicroseconds(30));
        for (var round = 0; round < 3; round++)
        {
            for (var miss = 0; miss < BusyPolling.MissesBeforeBackOff - 1; miss++)
            {
                Assert.True(polling.PollsNext());
                polling.Polled(found: false);
            }

            Assert.True(polling.PollsNext());
            polling.Polled(found: true);
        }

        Assert.True(polling.PollsNext());
    }
}

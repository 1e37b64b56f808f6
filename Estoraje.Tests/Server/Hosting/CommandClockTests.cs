using System.Diagnostics;
using Estoraje.Server;
using Estoraje.Server.Hosting;
using Estoraje.Storage.Memory;
using Estoraje.Tests.Support;

namespace Estoraje.Tests.Server.Hosting;

/// <summary>The server's clock: it stands still while a command runs, as Redis's command time snapshot.</summary>
public sealed class CommandClockTests
{
    [Fact]
    public void During_a_command_the_clock_stands_at_its_start_then_moves_on()
    {
        var clock = CommandClock.OverSystem;
        var before = DateTimeOffset.UtcNow;
        var previous = clock.Freeze(Stopwatch.GetTimestamp());
        var after = DateTimeOffset.UtcNow;
        var frozen = clock.GetUtcNow();
        try
        {
            // Worked out from the monotonic reading: within the two wall readings around it (and a millisecond).
            Assert.InRange(frozen, before.AddMilliseconds(-1), after.AddMilliseconds(1));
            WaitFor(TimeSpan.FromMilliseconds(5));
            Assert.Equal(frozen, clock.GetUtcNow());
            Assert.True(clock.GetWallNow() >= frozen.AddMilliseconds(4), "TIME reads the clock itself");
        }
        finally
        {
            CommandClock.Restart(previous);
        }

        Assert.True(clock.GetUtcNow() >= frozen.AddMilliseconds(4));
    }

    [Fact]
    public void A_command_called_by_a_command_sees_the_callers_time_and_the_clock_stays_stopped_until_the_caller_ends()
    {
        var time = new ManualTime();
        var clock = new CommandClock(time);
        var outer = clock.Freeze(Stopwatch.GetTimestamp());
        var start = time.GetUtcNow();
        time.Advance(1000);
        var inner = clock.Freeze(Stopwatch.GetTimestamp());
        Assert.Equal(start, clock.GetUtcNow());
        CommandClock.Restart(inner);
        Assert.Equal(start, clock.GetUtcNow());
        CommandClock.Restart(outer);
        Assert.Equal(start.AddMilliseconds(1000), clock.GetUtcNow());
    }

    [Fact]
    public void Only_the_commands_thread_sees_the_clock_stopped()
    {
        var time = new ManualTime();
        var clock = new CommandClock(time);
        var previous = clock.Freeze(Stopwatch.GetTimestamp());
        try
        {
            time.Advance(1000);
            var elsewhere = DateTimeOffset.MinValue;
            var thread = new Thread(() => elsewhere = clock.GetUtcNow());
            thread.Start();
            thread.Join();
            Assert.Equal(time.GetUtcNow(), elsewhere);
            Assert.Equal(time.GetUtcNow().AddMilliseconds(-1000), clock.GetUtcNow());
        }
        finally
        {
            CommandClock.Restart(previous);
        }
    }

    [Fact]
    public async Task A_script_sees_its_start_time_so_a_key_it_wrote_with_a_1_ms_expiry_lives_to_its_end()
    {
        using var store = new MemoryStore(CommandClock.OverSystem);
        var server = new ServerContext(new ServerOptions(), store, CommandClock.OverSystem, () => { });
        try
        {
            const string Script = "redis.call('SET', KEYS[1], 'v', 'PX', 1) local t = redis.call('TIME') " +
                "while true do local n = redis.call('TIME') if (n[1] - t[1]) * 1000000 + (n[2] - t[2]) > 5000 then break end end " +
                "return redis.call('GET', KEYS[1])";
            Assert.Equal("$1\r\nv\r\n", await CommandRunner.RunAsync(server, "EVAL", Script, "1", "k"));
            WaitFor(TimeSpan.FromMilliseconds(2));
            Assert.Equal("$-1\r\n", await CommandRunner.RunAsync(server, "GET", "k"));
        }
        finally
        {
            server.Scripts.Dispose();
        }
    }

    // Busy: the point is that time passes on this very thread.
    private static void WaitFor(TimeSpan span)
    {
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < span)
            Thread.SpinWait(100);
    }
}

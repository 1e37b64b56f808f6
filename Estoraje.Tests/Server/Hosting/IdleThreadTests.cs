using Estoraje.Server.Hosting;
using Estoraje.Server.Network;

namespace Estoraje.Tests.Server.Hosting;

/// <summary>Background work under SCHED_IDLE, back to the normal policy once it has run long enough.</summary>
public sealed class IdleThreadTests
{
    private const int SchedOther = 0;
    private const int SchedIdle = 5;

    [Fact]
    public async Task Work_runs_idle_at_first_and_under_the_normal_policy_once_it_outlasts_its_idle_time()
    {
        using var gate = new ManualResetEventSlim();
        var tid = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var work = IdleThread.Run("test-idle", () =>
        {
            tid.SetResult(Libc.ThreadId());
            gate.Wait();
        }, TimeSpan.FromMilliseconds(300));

        var id = await tid.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // Where a thread may not leave SCHED_IDLE (no CAP_SYS_NICE, RLIMIT_NICE under 20), the work never enters it.
        Assert.Equal(IdleThread.Supported ? SchedIdle : SchedOther, Policy(id));
        Assert.True(SpinWait.SpinUntil(() => Policy(id) == SchedOther, TimeSpan.FromSeconds(10)), "the work stayed idle");

        gate.Set();
        await work.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Work_that_returns_completes_its_task_and_work_that_throws_faults_it()
    {
        var tid = 0;
        await IdleThread.Run("test-idle", () => tid = Libc.ThreadId(), TimeSpan.FromMilliseconds(50));
        Assert.NotEqual(0, tid);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            IdleThread.Run("test-idle", () => throw new InvalidOperationException("broken"), TimeSpan.FromSeconds(5)));
        Assert.Equal("broken", error.Message);
    }

    // The scheduling policy of one of this process's threads: field 41 of /proc/self/task/<tid>/stat (the fields
    // after the command name, in parentheses, start at field 3).
    private static int Policy(int tid)
    {
        var stat = File.ReadAllText($"/proc/self/task/{tid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[41 - 3], System.Globalization.CultureInfo.InvariantCulture);
    }
}

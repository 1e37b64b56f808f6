using Estoraje.Server.Network;

namespace Estoraje.Server.Hosting;

/// <summary>
/// Runs background work (compaction) on a thread of its own that yields to every other thread of the machine: on
/// Linux it runs under SCHED_IDLE, on what the event loops and everything else leave, and a thread that wakes up
/// takes its core at once. A nice value was not enough: at nice 10, as at nice 0, a compaction running beside a
/// loaded loop cost GET -P 1 about a fifth of its throughput; under SCHED_IDLE, 5–10% (docs/benchmarks.md).
/// <para>
/// Idle forever could starve: a machine that never idles would never compact, and the log would grow without
/// end. Work still running after <c>idleFor</c> goes back to the normal policy and finishes at the usual share.
/// Leaving SCHED_IDLE takes CAP_SYS_NICE or an RLIMIT_NICE of 20 (root has both; a service user usually
/// neither): where a trial thread finds it refused, the work runs under the normal policy from the start.
/// </para>
/// </summary>
internal static class IdleThread
{
    private static readonly Lazy<bool> s_supported = new(Probe);

    /// <summary>Whether work starts under SCHED_IDLE here: Linux, and a thread may leave that policy again.</summary>
    public static bool Supported => s_supported.Value;

    /// <summary>Starts <paramref name="work"/>; the task completes when it returns, faulted if it throws.</summary>
    public static Task Run(string name, Action work, TimeSpan idleFor)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tid = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                tid.SetResult(Supported && Libc.SetThreadIdlePolicy() ? Libc.ThreadId() : 0);
                work();
                done.SetResult();
            }
            catch (Exception ex)
            {
                // Faults the task, as work on a pool thread would, instead of ending the process.
                done.TrySetException(ex);
            }
        })
        { IsBackground = true, Name = name };
        thread.Start();
        _ = PromoteLaterAsync(tid.Task, done.Task, idleFor);
        return done.Task;
    }

    // A throwaway thread goes idle and back: whether this process may.
    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux())
            return false;
        var returned = false;
        var probe = new Thread(() => returned = Libc.SetThreadIdlePolicy() && Libc.SetThreadNormalPolicy(Libc.ThreadId()))
        {
            IsBackground = true,
            Name = "estoraje-idle-probe",
        };
        probe.Start();
        probe.Join();
        return returned;
    }

    private static async Task PromoteLaterAsync(Task<int> tid, Task done, TimeSpan idleFor)
    {
        var id = await tid.ConfigureAwait(false);
        if (id == 0)
            return;
        if (await Task.WhenAny(done, Task.Delay(idleFor)).ConfigureAwait(false) != done)
            Libc.SetThreadNormalPolicy(id);
    }
}

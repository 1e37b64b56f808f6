using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Estoraje.Storage;

namespace Estoraje.Server.Network;

/// <summary>
/// One thread serving many client connections over its own epoll set, as Redis's event loop: wait for ready
/// sockets, read each once, run its complete requests and send its replies, then, before waiting again, commit
/// the writes of every batch of the pass at once (<see cref="CommitAsync"/>).
/// <para>
/// The .NET socket engine it replaces costs, per request at <c>-P 1</c>, a second <c>recvfrom</c> that finds
/// nothing (it reads until EAGAIN), a write system call per batch to the log, and its own queues and locks; here a
/// readable socket gets one <c>read</c>, a reply one <c>send</c>, and a pass one write to the log.
/// </para>
/// </summary>
internal sealed class EventLoop : IDisposable
{
    private const int MaxEvents = 256;
    private const ulong WakeToken = ulong.MaxValue;

    [ThreadStatic]
    private static EventLoop? t_current;

    private readonly int _epoll;
    private readonly int _wake;
    private readonly Thread _thread;
    private readonly Action<Exception> _report;
    private readonly ConcurrentQueue<Action> _posted = new();
    private readonly Lock _slotsLock = new();
    private LoopConnection?[] _slots = new LoopConnection?[64];
    private readonly Stack<int> _free = new();
    private int _used;
    private int _wakePending;
    private volatile bool _stopping;
    private List<LoopConnection> _committing = [];
    private List<LoopConnection> _released = [];
    private readonly IKeyValueStore _store;

    public EventLoop(string name, IKeyValueStore store, Action<Exception> report)
    {
        _store = store;
        _report = report;
        _epoll = Libc.EpollCreate();
        if (_epoll < 0)
            throw new IOException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
        _wake = Libc.EventFd();
        if (_wake < 0)
            throw new IOException($"eventfd failed: errno {Marshal.GetLastPInvokeError()}");
        var error = Libc.EpollControl(_epoll, Libc.EPOLL_CTL_ADD, _wake, Libc.EPOLLIN, WakeToken);
        if (error != 0)
            throw new IOException($"epoll_ctl failed: errno {error}");
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Event loops are Linux's; elsewhere connections use the .NET socket engine.</summary>
    public static bool Supported => OperatingSystem.IsLinux();

    public int Epoll => _epoll;

    /// <summary>Takes over an accepted socket: from now on this loop reads it; its pipes are the connection's.</summary>
    public LoopConnection Add(Socket socket, PipeOptions send, PipeOptions receive)
    {
        socket.NoDelay = true;
        socket.Blocking = false;
        int slot;
        LoopConnection connection;
        lock (_slotsLock)
        {
            if (!_free.TryPop(out slot))
            {
                if (_used == _slots.Length)
                    Array.Resize(ref _slots, _slots.Length * 2);
                slot = _used++;
            }

            connection = new LoopConnection(this, socket, slot, send, receive);
            _slots[slot] = connection;
        }

        try
        {
            connection.Start();
        }
        catch
        {
            Release(slot);
            throw;
        }

        return connection;
    }

    /// <summary>
    /// Completes when the records appended so far are as durable as the store's policy promises. Called by a
    /// connection's batch on this loop's thread, it waits for the end of the pass, where one commit covers every
    /// batch of the pass (one write to the log under everysec, one fsync request under always) before their
    /// replies leave; from any other thread it is the store's own commit.
    /// </summary>
    internal ValueTask CommitAsync(LoopConnection connection)
    {
        if (t_current != this)
            return _store.CommitAsync();
        _committing.Add(connection);
        return connection.WaitForCommit();
    }

    /// <summary>Runs <paramref name="action"/> on the loop's thread, soon.</summary>
    public void Post(Action action)
    {
        _posted.Enqueue(action);
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
            Libc.Write8(_wake, 1);
    }

    /// <summary>Frees the slot of a connection closed or never started (any thread: under the slots lock).</summary>
    internal void Release(int slot)
    {
        lock (_slotsLock)
        {
            _slots[slot] = null;
            _free.Push(slot);
        }
    }

    private unsafe void Run()
    {
        t_current = this;
        var events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * Libc.EventSize));
        try
        {
            while (!_stopping)
            {
                // A batch resumed by the last commit may have committed again: poll, then commit it, without sleeping.
                var ready = Libc.EpollWait(_epoll, events, MaxEvents, _committing.Count == 0 ? -1 : 0);
                if (ready < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == Libc.EINTR)
                        continue;
                    _report(new IOException($"epoll_wait failed: errno {errno}"));
                    return;
                }

                for (var i = 0; i < ready; i++)
                {
                    var data = Libc.EventData(events, i);
                    if (data == WakeToken)
                    {
                        RunPosted();
                        continue;
                    }

                    LoopConnection? connection;
                    lock (_slotsLock)
                        connection = _slots[(int)(uint)data];
                    if (connection is null || connection.Token != data)
                        continue;
                    try
                    {
                        connection.OnEvents(Libc.EventFlags(events, i));
                    }
                    catch (Exception ex)
                    {
                        // A bug costs this connection, never the loop and its other connections.
                        _report(ex);
                        Guarded(() => connection.Close(ex));
                    }
                }

                try
                {
                    Commit();
                }
                catch (Exception ex)
                {
                    _report(ex);
                }
            }
        }
        finally
        {
            NativeMemory.Free(events);
        }
    }

    private void RunPosted()
    {
        Libc.Read8(_wake);
        Volatile.Write(ref _wakePending, 0);
        while (_posted.TryDequeue(out var action))
            Guarded(action);
    }

    private void Guarded(Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            _report(ex);
        }
    }

    // The end of a pass: one commit for every batch that wrote, then their replies (the continuations run here,
    // each in turn: a task's continuations after its first would go to the thread pool).
    private void Commit()
    {
        if (_committing.Count == 0)
            return;
        var waiting = _committing;
        _committing = _released;
        _released = waiting;
        ValueTask commit;
        try
        {
            commit = _store.CommitAsync();
        }
        catch (Exception ex)
        {
            commit = ValueTask.FromException(ex);
        }

        // Every path empties the list: a connection left in it would be released again by a later pass, before
        // the commit it then waits for.
        if (commit.IsCompletedSuccessfully)
            Committed(waiting, null);
        else
            _ = CommittedAfter(commit, [.. waiting]);
        waiting.Clear();
    }

    private static void Committed(List<LoopConnection> waiting, Exception? error)
    {
        foreach (var connection in waiting)
            connection.Committed(error);
    }

    // Under appendfsync always the store's syncer completes the commit and runs the replies itself; a failed
    // commit completes here at once.
    private static async Task CommittedAfter(ValueTask commit, List<LoopConnection> waiting)
    {
        Exception? error = null;
        try
        {
            await commit.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            error = ex;
        }

        Committed(waiting, error);
    }

    // Stops the thread. The epoll and eventfd descriptors stay open until the process exits: a connection closing
    // late may still Post, and a closed descriptor's number could by then belong to another file.
    public void Dispose()
    {
        _stopping = true;
        Libc.Write8(_wake, 1);
        if (Thread.CurrentThread != _thread)
            _thread.Join();
    }
}

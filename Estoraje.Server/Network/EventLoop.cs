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
/// <para>
/// Balance: several loops share the connections by load, not by count. A lightly loaded server is best served by
/// one thread: at one request in flight per client a pass finds one or two ready sockets, and a second loop would
/// only sleep and wake as often again (on the 2-core benchmark machine, 12–19% more CPU per request than one loop).
/// A busy one needs every core. So new connections go to the first light loop (loop 0 unless it is busy), a loop
/// whose passes average <see cref="SpreadLoad"/> ready sockets or more hands a share of its connections to the
/// lighter loops, and a loop light for a second while loop 0 is light too hands its connections back to loop 0.
/// A connection moves between passes, when idle (<see cref="LoopConnection.TryMoveTo"/>).
/// </para>
/// </summary>
internal sealed class EventLoop : IDisposable
{
    private const int MaxEvents = 256;
    private const ulong WakeToken = ulong.MaxValue;

    /// <summary>Average ready sockets per pass from which a loop hands connections to lighter loops.</summary>
    internal const double SpreadLoad = 8;

    /// <summary>Average ready sockets per pass under which a loop counts as light.</summary>
    internal const double LightLoad = 4;

    // A loop's load: the average ready sockets per pass over windows of this many milliseconds; a load older than
    // StaleMs (no pass since) counts as none.
    private const int WindowMs = 10;

    // A loop hands connections out after this many heavy windows in a row: one heavy window alone is often a
    // pause (a collection, the thread preempted) after which the ready sockets piled up.
    private const int HeavyWindows = 5;
    private const int StaleMs = 100;
    private const int GatherAfterMs = 1000;

    // After handing connections out, a loop waits this long (the others' loads take a window to show them) before
    // it does again.
    private const int SpreadEveryMs = 100;

    private static long s_generation;

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
    private EventLoop[] _group;
    private long _windowStart = Environment.TickCount64;
    private int _windowEvents;
    private int _windowPasses;
    private double _load;
    private long _loadAt;
    private long _lightSince;
    private long _spreadAt;
    private int _heavyWindows;
    private int _connections;

    public EventLoop(int index, IKeyValueStore store, Action<Exception> report)
    {
        Index = index;
        _group = [this];
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
        _thread = new Thread(Run) { IsBackground = true, Name = $"estoraje-loop-{index}" };
        _thread.Start();
    }

    /// <summary>Event loops are Linux's; elsewhere connections use the .NET socket engine.</summary>
    public static bool Supported => OperatingSystem.IsLinux();

    public int Epoll => _epoll;

    /// <summary>The loop's number in its group (CLIENT LIST's <c>io-thread</c>).</summary>
    public int Index { get; }

    /// <summary>Creates <paramref name="count"/> loops that balance their connections among themselves.</summary>
    public static EventLoop[] CreateGroup(int count, IKeyValueStore store, Action<Exception> report)
    {
        var group = new EventLoop[count];
        for (var i = 0; i < count; i++)
            group[i] = new EventLoop(i, store, report);
        foreach (var loop in group)
            loop._group = group;
        return group;
    }

    /// <summary>
    /// Takes over an accepted socket, on the first light loop of the group (the least loaded if none is): from now on
    /// that loop reads it; its pipes are the connection's.
    /// </summary>
    public static LoopConnection Add(EventLoop[] group, Socket socket, PipeOptions send, PipeOptions receive)
    {
        socket.NoDelay = true;
        socket.Blocking = false;
        var loop = Lightest(group);
        var connection = new LoopConnection(loop, socket, send, receive);
        loop.Adopt(connection);
        try
        {
            connection.Start();
        }
        catch
        {
            loop.Release(connection.Slot);
            throw;
        }

        return connection;
    }

    /// <summary>Gives a connection a slot in this loop (and its epoll data); any thread.</summary>
    internal void Adopt(LoopConnection connection)
    {
        lock (_slotsLock)
        {
            if (!_free.TryPop(out var slot))
            {
                if (_used == _slots.Length)
                    Array.Resize(ref _slots, _slots.Length * 2);
                slot = _used++;
            }

            _slots[slot] = connection;
            _connections++;
            connection.Assign(slot, (ulong)Interlocked.Increment(ref s_generation) << 32 | (uint)slot);
        }
    }

    // The first loop that is light, or else the least loaded: a lightly loaded server keeps its connections on one loop.
    private static EventLoop Lightest(EventLoop[] group)
    {
        var now = Environment.TickCount64;
        var lightest = group[0];
        foreach (var loop in group)
        {
            if (loop.LoadAt(now) < LightLoad)
                return loop;
            if (loop.LoadAt(now) < lightest.LoadAt(now))
                lightest = loop;
        }

        return lightest;
    }

    // The load of the last window, or none if no pass ended one lately (an idle loop).
    private double LoadAt(long now) => now - Volatile.Read(ref _loadAt) > StaleMs ? 0 : Volatile.Read(ref _load);

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
            _connections--;
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

                if (_group.Length > 1)
                    Balance(ready);
            }
        }
        finally
        {
            NativeMemory.Free(events);
        }
    }

    // Measures the load window by window and moves connections when it calls for it (see the class's remarks).
    private void Balance(int ready)
    {
        if (ready > 0)
        {
            _windowEvents += ready;
            _windowPasses++;
        }

        var now = Environment.TickCount64;
        if (now - _windowStart < WindowMs)
            return;
        var load = _windowPasses == 0 ? 0 : (double)_windowEvents / _windowPasses;
        _windowStart = now;
        _windowEvents = 0;
        _windowPasses = 0;
        Volatile.Write(ref _load, load);
        Volatile.Write(ref _loadAt, now);

        _heavyWindows = load >= SpreadLoad ? _heavyWindows + 1 : 0;
        if (load >= SpreadLoad)
        {
            _lightSince = 0;
            if (_heavyWindows >= HeavyWindows && now - _spreadAt >= SpreadEveryMs)
            {
                _spreadAt = now;
                Spread(now);
            }
        }
        else if (load < LightLoad && Index != 0)
        {
            if (_lightSince == 0)
                _lightSince = now;
            else if (now - _lightSince >= GatherAfterMs && _group[0].LoadAt(now) < LightLoad)
            {
                _lightSince = 0;
                MoveConnections(() => _group[0]);
            }
        }
        else
            _lightSince = 0;
    }

    // Hands connections to the loops that are not busy until each of them and this one serve as many.
    private void Spread(long now)
    {
        var targets = _group.Where(loop => loop != this && loop.LoadAt(now) < SpreadLoad).ToArray();
        if (targets.Length == 0)
            return;
        var counts = targets.Select(loop => Volatile.Read(ref loop._connections)).ToArray();
        var share = (Volatile.Read(ref _connections) + counts.Sum() + targets.Length) / (targets.Length + 1);
        var excess = Volatile.Read(ref _connections) - share;
        MoveConnections(() =>
        {
            if (excess <= 0)
                return null;
            var fewest = Array.IndexOf(counts, counts.Min());
            if (counts[fewest] >= share)
                return null;
            excess--;
            counts[fewest]++;
            return targets[fewest];
        });
    }

    // Offers each connection of this loop to next() (null: no more), which is asked again after one that is busy
    // (it stays).
    private void MoveConnections(Func<EventLoop?> next)
    {
        List<LoopConnection> connections;
        lock (_slotsLock)
            connections = [.. _slots.Take(_used).OfType<LoopConnection>()];
        EventLoop? to = null;
        foreach (var connection in connections)
        {
            to ??= next();
            if (to is null)
                return;
            try
            {
                if (connection.TryMoveTo(to))
                    to = null;
            }
            catch (Exception ex)
            {
                // Out of both epoll sets: this connection is lost, the others go on.
                _report(ex);
                to = null;
                Guarded(() => connection.Close(ex));
            }
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

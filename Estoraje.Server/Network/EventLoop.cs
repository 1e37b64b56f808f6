using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Numerics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Estoraje.Resp;
using Estoraje.Storage;
using Microsoft.Win32.SafeHandles;

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
/// A busy one needs every core. So new connections go to the first loop that is not busy (loop 0 unless it is), a
/// loop whose passes average <see cref="SpreadLoad"/> requests or more while its thread is busy hands a share of its
/// connections to the lighter loops, and a loop whose passes, with loop 0's, have held fewer than twice
/// <see cref="LightLoad"/> requests for a second hands its connections back to loop 0. (Placed on the first light
/// loop instead, the 50 connections a benchmark client opens right after a run of 50 others went to loop 1 while
/// loop 0's load still showed the run before, which left them split over two loops: its GETs at -P 1 lost a tenth.)
/// A connection moves between passes, when idle (<see cref="LoopConnection.TryMoveTo"/>).
/// </para>
/// </summary>
internal sealed class EventLoop : IDisposable
{
    private const int MaxEvents = 256;
    private const ulong WakeToken = ulong.MaxValue;

    /// <summary>
    /// Average requests per pass from which a loop whose thread is also busy (<see cref="BusyShare"/>) hands
    /// connections to lighter loops. Not ready sockets: at one request in flight per client, clients fall into step
    /// (a pass serves them all, they all send again at once) and passes find dozens of ready sockets for a while,
    /// with a request each; 16-deep pipelines from 50 clients make passes of about 800 requests.
    /// </summary>
    internal const double SpreadLoad = 128;

    /// <summary>
    /// Share of the time a loop's thread runs or waits to run (its CPU time and run-queue wait, from
    /// <c>/proc/thread-self/schedstat</c>) from which it counts as busy. Full passes alone do not make a loop busy:
    /// under appendfsync always a loop blocked in its fsync finds every client ready after it, but a second loop
    /// would only wait for the same disk. The wait counts: on a machine whose cores are all taken, a loop that could
    /// use more CPU gets less, not more.
    /// </summary>
    internal const double BusyShare = 0.9;

    /// <summary>
    /// Average requests per pass, or share of the time running, under which a loop counts as light (twice it: two loops
    /// together, for gathering).
    /// </summary>
    internal const double LightLoad = 32;

    internal const double LightShare = 0.5;

    // A loop's load: the average ready sockets per pass over windows of this many milliseconds; a load older than
    // StaleMs (no pass since) counts as none.
    private const int WindowMs = 10;

    // A loop hands connections out once HeavyWindows of its last RecentWindows windows were heavy: a heavy window
    // here and there is a pause (a collection, the thread preempted, a slow write) after which ready sockets piled up.
    private const int RecentWindows = 9;
    private const int HeavyWindows = 7;
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

    // What the connections read in a pass of several ready sockets brought (see RunReceived): the connections,
    // and the first key of each, copied.
    private const int PassKeys = 64;
    private readonly List<LoopConnection> _received = [];
    private readonly byte[] _passKeyBytes = new byte[4096];
    private readonly Range[] _passKeyRanges = new Range[PassKeys];
    private int _passKeys;
    private int _passKeyLength;
    private EventLoop[] _group;
    private long _windowStart = Environment.TickCount64;
    private long _windowWall;
    private long _windowRunning;
    private SafeFileHandle? _schedstat;
    private readonly byte[] _schedstatBuffer = new byte[64];
    private bool _schedstatMissing;
    private int _windowRequests;
    private int _windowPasses;
    private double _load;
    private long _loadAt;
    private long _lightSince;
    private long _spreadAt;
    private int _recentHeavy; // a bit per recent window, the latest lowest
    private int _connections;
    private BusyPolling _polling;

    public EventLoop(int index, IKeyValueStore store, Action<Exception> report, TimeSpan busyPoll = default)
    {
        Index = index;
        _polling = new BusyPolling(busyPoll);
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

    /// <summary>
    /// Creates <paramref name="count"/> loops that balance their connections among themselves and poll for up to
    /// <paramref name="busyPoll"/> before they sleep (see <see cref="BusyPolling"/>).
    /// </summary>
    public static EventLoop[] CreateGroup(int count, IKeyValueStore store, Action<Exception> report, TimeSpan busyPoll = default)
    {
        var group = new EventLoop[count];
        for (var i = 0; i < count; i++)
            group[i] = new EventLoop(i, store, report, busyPoll);
        foreach (var loop in group)
            loop._group = group;
        return group;
    }

    /// <summary>
    /// Takes over an accepted socket, on the first loop of the group that is not busy (the least loaded if none is): from now on
    /// that loop reads it and runs its requests through the client <paramref name="open"/> returns for it (none: the
    /// connection is not read, and closes once its output, completed by <paramref name="open"/>, is sent).
    /// </summary>
    /// <param name="inputLimit">
    /// Unconsumed input past which the socket is not read until the client consumes some (read when the input buffer
    /// would grow: a limit raised meanwhile applies).
    /// </param>
    public static LoopConnection Add(EventLoop[] group, Socket socket, PipeOptions send, Func<long> inputLimit, Func<LoopConnection, ILoopClient?> open)
    {
        socket.NoDelay = true;
        socket.Blocking = false;
        var loop = Lightest(group);
        var connection = new LoopConnection(loop, socket, send, inputLimit);
        loop.Adopt(connection);
        ILoopClient? client = null;
        try
        {
            client = open(connection);
            if (client is not null)
                connection.Start(client);
        }
        catch (Exception ex)
        {
            // Never served: the slot is freed here, and nothing that ends the connection later frees it again.
            connection.Discard();
            loop.Release(connection.Slot);
            client?.Closed(ex);
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

    private static EventLoop Lightest(EventLoop[] group)
    {
        var now = Environment.TickCount64;
        Span<double> loads = stackalloc double[group.Length];
        for (var i = 0; i < group.Length; i++)
            loads[i] = group[i].LoadAt(now);
        return group[PlaceAmong(loads)];
    }

    /// <summary>
    /// Where a new connection goes, given the loops' loads (average requests per pass, 0 for an idle loop): the first
    /// loop that is not busy, or else the least loaded. A lightly loaded server keeps its connections on one loop.
    /// </summary>
    internal static int PlaceAmong(ReadOnlySpan<double> loads)
    {
        var lightest = 0;
        for (var i = 0; i < loads.Length; i++)
        {
            if (loads[i] < SpreadLoad)
                return i;
            if (loads[i] < loads[lightest])
                lightest = i;
        }

        return lightest;
    }

    /// <summary>
    /// Whether a loop other than loop 0 counts as light, to hand its connections back to loop 0 once it has for a
    /// second: its thread hardly runs, or its passes and loop 0's together would hold fewer than twice
    /// <see cref="LightLoad"/> requests.
    /// </summary>
    internal static bool GathersInto0(double load, double busy, double loadOf0) =>
        busy < LightShare || load + loadOf0 < 2 * LightLoad;

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

    /// <summary>Counts requests served for the load (from the connection's batch; a count lost to a race only blurs it).</summary>
    internal void Served(long requests) => _windowRequests += (int)requests;

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
                var ready = _committing.Count != 0 ? Libc.EpollWait(_epoll, events, MaxEvents, 0)
                    : _polling.PollsNext() ? PollThenWait(events)
                    : Libc.EpollWait(_epoll, events, MaxEvents, -1);
                if (ready < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == Libc.EINTR)
                        continue;
                    _report(new IOException($"epoll_wait failed: errno {errno}"));
                    return;
                }

                // Several ready sockets: read them all, then run their batches, so that the keys the batches will
                // look up are loaded together (see Received).
                var defer = ready > 1;
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
                        connection.OnEvents(Libc.EventFlags(events, i), defer);
                    }
                    catch (Exception ex)
                    {
                        Failed(connection, ex);
                    }
                }

                if (defer)
                    RunReceived();

                try
                {
                    Commit();
                }
                catch (Exception ex)
                {
                    _report(ex);
                }

                if (_group.Length > 1)
                    Balance(ready > 0);
            }
        }
        finally
        {
            NativeMemory.Free(events);
            _schedstat?.Dispose();
        }
    }

    // Polls the loop's sockets for up to the busy-poll time (see BusyPolling), then sleeps until one is ready.
    private unsafe int PollThenWait(byte* events)
    {
        var until = Stopwatch.GetTimestamp() + _polling.Ticks;
        do
        {
            var ready = Libc.EpollWait(_epoll, events, MaxEvents, 0);
            if (ready != 0)
            {
                _polling.Polled(found: ready > 0);
                return ready;
            }
        }
        while (Stopwatch.GetTimestamp() < until && !_stopping);

        _polling.Polled(found: false);
        return Libc.EpollWait(_epoll, events, MaxEvents, -1);
    }

    /// <summary>Whether the calling thread is this loop's.</summary>
    internal bool IsCurrent => t_current == this;

    // A bug costs its connection, never the loop and its other connections.
    internal void Failed(LoopConnection connection, Exception ex)
    {
        _report(ex);
        Guarded(() => connection.Close(ex));
    }

    /// <summary>
    /// A connection read <paramref name="data"/> in a pass of several ready sockets; its batch runs after the
    /// reads (<see cref="RunReceived()"/>). Notes the first argument of the first complete request it brought.
    /// </summary>
    internal void Received(LoopConnection connection, ReadOnlySpan<byte> data)
    {
        _received.Add(connection);
        if (_passKeys == PassKeys)
            return;
        Span<Range> names = stackalloc Range[1];
        Span<Range> firsts = stackalloc Range[1];
        if (RequestScanner.Scan(data, names, firsts) == 0)
            return;
        var key = data[firsts[0]];
        if (key.IsEmpty || key.Length > _passKeyBytes.Length - _passKeyLength)
            return;
        key.CopyTo(_passKeyBytes.AsSpan(_passKeyLength));
        _passKeyRanges[_passKeys++] = new Range(_passKeyLength, _passKeyLength + key.Length);
        _passKeyLength += key.Length;
    }

    // The second half of a pass of several ready sockets. At one request in flight per client a batch is one
    // request, which looks its key up in the store: a chain of dependent cache misses (bucket, entry, key, value).
    // Told every key of the pass first, the store loads them all at once (IKeyValueStore.Prefetch) and the batches
    // then find them in the cache: the misses of the pass overlap instead of following one another.
    private void RunReceived()
    {
        if (_passKeys > 1)
            _store.Prefetch(_passKeyBytes.AsSpan(0, _passKeyLength), _passKeyRanges.AsSpan(0, _passKeys));
        (_passKeys, _passKeyLength) = (0, 0);
        foreach (var connection in _received)
        {
            try
            {
                connection.RunReceived();
            }
            catch (Exception ex)
            {
                Failed(connection, ex);
            }
        }

        _received.Clear();
    }

    // Measures the load window by window and moves connections when it calls for it (see the class's remarks).
    private void Balance(bool pass)
    {
        if (pass)
            _windowPasses++;

        var now = Environment.TickCount64;
        if (now - _windowStart < WindowMs)
            return;
        var load = _windowPasses == 0 ? 0 : (double)_windowRequests / _windowPasses;
        var (wall, running) = (Stopwatch.GetTimestamp(), RunningNanoseconds());
        var busy = running < 0 ? 1 : (running - _windowRunning) / (Stopwatch.GetElapsedTime(_windowWall, wall).TotalMilliseconds * 1e6);
        _windowStart = now;
        _windowRequests = 0;
        _windowPasses = 0;
        (_windowWall, _windowRunning) = (wall, running);
        var heavy = load >= SpreadLoad && busy >= BusyShare;
        var light = GathersInto0(load, busy, _group[0].LoadAt(now));
        // What the others see: a loop that is not busy shows as light whatever its passes hold.
        Volatile.Write(ref _load, busy < LightShare ? 0 : load);
        Volatile.Write(ref _loadAt, now);

        _recentHeavy = (_recentHeavy << 1 | (heavy ? 1 : 0)) & ((1 << RecentWindows) - 1);
        if (heavy)
        {
            _lightSince = 0;
            if (BitOperations.PopCount((uint)_recentHeavy) >= HeavyWindows && now - _spreadAt >= SpreadEveryMs)
            {
                _spreadAt = now;
                Spread(now);
            }
        }
        else if (light && Index != 0)
        {
            if (_lightSince == 0)
                _lightSince = now;
            else if (now - _lightSince >= GatherAfterMs && _group[0].LoadAt(now) < 2 * LightLoad)
            {
                _lightSince = 0;
                MoveConnections(() => _group[0]);
            }
        }
        else
            _lightSince = 0;
    }

    // Nanoseconds this thread has run or waited to run since it started (-1 where the kernel does not say).
    private long RunningNanoseconds()
    {
        if (_schedstatMissing)
            return -1;
        try
        {
            _schedstat ??= File.OpenHandle("/proc/thread-self/schedstat");
            var n = RandomAccess.Read(_schedstat, _schedstatBuffer, 0);
            var fields = _schedstatBuffer.AsSpan(0, n);
            var space = fields.IndexOf((byte)' ');
            var second = fields[(space + 1)..];
            var end = second.IndexOf((byte)' ');
            if (space > 0 && end > 0 && Utf8Parser.TryParse(fields[..space], out long cpu, out _) &&
                Utf8Parser.TryParse(second[..end], out long wait, out _))
                return cpu + wait;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _schedstatMissing = true;
        }

        return -1;
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
                to = null;
                Failed(connection, ex);
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

    // The end of a pass: one commit for every batch that wrote, on this thread (under appendfsync always the loop
    // blocks in the fsync, as Redis's), then their replies (the continuations run here, each in turn: a task's
    // continuations after its first would go to the thread pool). A failed commit fails each of them.
    private void Commit()
    {
        if (_committing.Count == 0)
            return;
        var waiting = _committing;
        _committing = _released;
        _released = waiting;
        Exception? error = null;
        try
        {
            _store.Commit();
        }
        catch (Exception ex)
        {
            error = ex;
        }

        try
        {
            foreach (var connection in waiting)
                connection.Committed(error);
        }
        finally
        {
            // A connection left in the list would be released again by a later pass, before the commit it then
            // waits for.
            waiting.Clear();
        }
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

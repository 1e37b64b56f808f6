using System.Buffers;
using System.Threading.Channels;
using Estoraje.Resp;
using Estoraje.Ring;
using Estoraje.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Estoraje.Server.Cluster;

/// <summary>
/// Slot sync, puller side: whenever the ring gives this node a slot it did not hold as it holds it now, the
/// node pulls the slot from the slot's other replicas before relying on its own copy. For each source it
/// compares per-slot digests (count and order-independent hash of (key, version) pairs, tombstones included),
/// lists only the slots that differ, fetches the records the source has newer and applies them (newer wins, so
/// the pull is idempotent and safe alongside live replication).
/// <list type="bullet">
/// <item>A slot this node now leads (its primary failed, or this node just started or rejoined) is closed
/// (<see cref="SlotGate"/>) until pulled: its commands wait, bounded, then run here.</item>
/// <item>A slot it now replicates is pulled in the background, after the led ones.</item>
/// </list>
/// A source that cannot be reached is skipped (it is down, or about to leave the ring). Needs a store with
/// per-slot digests (<see cref="ISlotIndex"/>, the log store); with the memory store nothing is pulled.
/// </summary>
internal sealed partial class SlotSync : BackgroundService
{
    /// <summary>Slots compared per digest request.</summary>
    public const int DigestBatch = 1024;

    private const int ScanCount = 512;
    private const int FetchBatch = 128;
    private const int ParallelSlots = 4;
    private const int FetchWindow = 4;
    private const int MaxAttempts = 3;
    private static readonly TimeSpan FinishRetry = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan LeaveDrain = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan DropCheck = TimeSpan.FromSeconds(1);
    private long _lastProgress;

    private readonly ServerContext _server;
    private readonly ISlotIndex? _index;
    private readonly ILogger _logger;
    private readonly Channel<ClusterView> _views = Channel.CreateUnbounded<ClusterView>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Queue<int> _led = new();
    private readonly Queue<int> _replicated = new();
    private readonly Dictionary<int, long> _drops = [];
    private readonly Dictionary<int, int> _attempts = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, PeerSyncStats> _peerStats = new(StringComparer.Ordinal);
    private readonly Channel<bool> _wake = Channel.CreateUnbounded<bool>();
    private long _maxBytesPerSecond;
    private long _antiEntropyPasses;
    private long _bytesPushed;
    private long _pullTicks;
    private readonly Queue<(long At, long Moved)> _rate = new();
    private ClusterView? _planned;
    private long _slotsPulled;
    private long _keysPulled;
    private long _bytesPulled;
    private long _keysPushed;
    private readonly TaskCompletionSource _left = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SlotSync(ServerContext server, ILogger<SlotSync> logger)
    {
        _server = server;
        _index = server.Store as ISlotIndex;
        _logger = logger;
        server.SlotSync = this;
        MaxBytesPerSecond = server.Options.SyncMaxBytesPerSec;
        if (_index is null)
            return;
        if (server.Options.LeaveOnShutdown && server.Membership is EtcdMembership etcd)
            etcd.BeforeDeregister = LeaveAsync;
        // Before any client is served: the slots this node leads are closed from the start.
        Plan(server.Membership.Current);
        server.Membership.Changed += view => _views.Writer.TryWrite(view);
    }

    /// <summary>Slots waiting to be pulled (led ones included).</summary>
    public int PendingSlots => Volatile.Read(ref _pendingCount);

    /// <summary>Slots pulled since start (compared, and fetched where they differed).</summary>
    public long SlotsPulled => Interlocked.Read(ref _slotsPulled);

    /// <summary>Records fetched and applied since start.</summary>
    public long KeysPulled => Interlocked.Read(ref _keysPulled);

    /// <summary>Records sent to a source that lacked them or held them older, since start.</summary>
    public long KeysPushed => Interlocked.Read(ref _keysPushed);

    /// <summary>Bytes of records fetched since start.</summary>
    public long BytesPulled => Interlocked.Read(ref _bytesPulled);

    private int _pendingCount;

    /// <summary>Whether background pulls (and anti-entropy) are paused; slots this node must lead are still pulled.</summary>
    public bool Paused { get; private set; }

    /// <summary>Anti-entropy passes started since start.</summary>
    public long AntiEntropyPasses => Interlocked.Read(ref _antiEntropyPasses);

    /// <summary>Bytes of records moved (fetched and pushed) per second at most, 0 for no cap; changeable at run time.</summary>
    public long MaxBytesPerSecond
    {
        get => Interlocked.Read(ref _maxBytesPerSecond);
        set => Interlocked.Exchange(ref _maxBytesPerSecond, Math.Max(0, value));
    }

    /// <summary>Bytes moved per second over the last few seconds.</summary>
    public long RecentBytesPerSecond
    {
        get
        {
            var moved = Interlocked.Read(ref _bytesPulled) + Interlocked.Read(ref _bytesPushed);
            lock (_rate)
            {
                var now = _server.Time.GetTimestamp();
                _rate.Enqueue((now, moved));
                while (_rate.Count > 2 && _server.Time.GetElapsedTime(_rate.Peek().At, now) > TimeSpan.FromSeconds(5))
                    _rate.Dequeue();
                var (at, then) = _rate.Peek();
                var seconds = _server.Time.GetElapsedTime(at, now).TotalSeconds;
                return seconds <= 0 ? 0 : (long)((moved - then) / seconds);
            }
        }
    }

    /// <summary>ESTORAJE SYNC PAUSE / RESUME.</summary>
    public void Pause(bool paused)
    {
        Paused = paused;
        _wake.Writer.TryWrite(true);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_index is null)
            return;
        try
        {
            await _server.Loaded.WaitAsync(stoppingToken);
            var nextPass = _server.Time.GetTimestamp();
            while (!stoppingToken.IsCancellationRequested)
            {
                while (_views.Reader.TryRead(out var view))
                    Plan(view);
                while (_wake.Reader.TryRead(out _))
                {
                }

                if (_led.Count > 0 || (_replicated.Count > 0 && !Paused))
                {
                    await PullBatchAsync(stoppingToken);
                    continue;
                }

                // All pulled. A joining or leaving node finishes (retried until its registration takes the change).
                var finishing = _planned is { SelfState: MemberStates.Joining or MemberStates.Leaving } && !_left.Task.IsCompleted && _replicated.Count == 0;
                if (finishing)
                    await FinishAsync(_planned!, stoppingToken);

                // Anti-entropy: now and then, every slot this node leads is compared with its other replicas.
                var interval = _server.Options.AntiEntropyInterval;
                if (!finishing && !Paused && interval > 0 && _server.Time.GetElapsedTime(nextPass) >= TimeSpan.Zero)
                {
                    nextPass = _server.Time.GetTimestamp() + (long)(interval * _server.Time.TimestampFrequency);
                    if (QueueAntiEntropy() > 0)
                        continue;
                }

                DropDueSlots();
                var wait = finishing ? FinishRetry : interval > 0 && !Paused ? -_server.Time.GetElapsedTime(nextPass) : Timeout.InfiniteTimeSpan;
                if (_drops.Count > 0 && (wait == Timeout.InfiniteTimeSpan || wait > DropCheck))
                    wait = DropCheck;
                await WaitAsync(wait, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    // Until a new view, a pause or resume, or `wait` passes.
    private async Task WaitAsync(TimeSpan wait, CancellationToken stoppingToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        if (wait != Timeout.InfiniteTimeSpan)
            timeout.CancelAfter(wait < TimeSpan.Zero ? TimeSpan.Zero : wait);
        try
        {
            await Task.WhenAny(_views.Reader.WaitToReadAsync(timeout.Token).AsTask(), _wake.Reader.WaitToReadAsync(timeout.Token).AsTask());
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            // Time to look again.
        }
    }

    // Queues every slot this node leads (with other replicas to compare with) for a digest comparison.
    private int QueueAntiEntropy()
    {
        var view = _planned;
        if (view is null || view.SelfState != MemberStates.Ready)
            return 0;
        var queued = 0;
        for (var slot = 0; slot < KeySlot.Count; slot++)
        {
            if (Position(view, slot) == 0)
            {
                _replicated.Enqueue(slot);
                queued++;
            }
        }

        if (queued > 0)
            Interlocked.Increment(ref _antiEntropyPasses);
        Volatile.Write(ref _pendingCount, _led.Count + _replicated.Count);
        return queued;
    }

    // The bandwidth cap: once `bytes` more have moved, waits as long as moving them at the cap takes.
    private async Task ThrottleAsync(long bytes, CancellationToken stoppingToken)
    {
        var cap = MaxBytesPerSecond;
        if (cap <= 0 || bytes <= 0)
            return;
        await Task.Delay(TimeSpan.FromSeconds((double)bytes / cap), _server.Time, stoppingToken);
    }

    // Compares the new view with the last one planned: slots newly led are closed and queued first, slots newly
    // held as a replica are queued after them. The first view of a node counts every slot it holds as new: a
    // node that restarts catches up on everything it missed while down. A joining node holds the slots of the
    // target ring (it leads none until it is ready); a leaving node syncs every slot it holds with the slot's
    // replicas in the target ring, which no longer has it.
    private void Plan(ClusterView view)
    {
        var previous = _planned;
        _planned = view;
        var gate = _server.Router.Gate;
        var leaving = view.SelfState == MemberStates.Leaving;
        var startsLeaving = leaving && previous?.SelfState != MemberStates.Leaving;
        var member = view.SelfIndex >= 0 || view.TargetSelfIndex >= 0;
        var dropAt = _server.Time.GetTimestamp() + (long)(_server.Options.DropGrace * _server.Time.TimestampFrequency);
        for (var slot = 0; slot < KeySlot.Count; slot++)
        {
            // A slot this node held and no longer holds in either ring: its data goes after a grace period, during
            // which nodes whose views lag may still pull it from here. Never while this node is out of the
            // cluster altogether (a lost lease): it will hold its slots again when it re-registers.
            if (!Holds(view, slot))
            {
                if (member && previous is not null && Holds(previous, slot))
                    _drops.TryAdd(slot, dropAt);
            }
            else
            {
                _drops.Remove(slot);
            }

            var position = Position(view, slot);
            var serving = view.SelfState != MemberStates.Joining;
            if (position != 0 || !serving)
                gate.Open(slot); // Not ours to lead (any more): whoever leads it now syncs it.
            if (position < 0)
                continue;
            if (leaving)
            {
                if (startsLeaving)
                    _replicated.Enqueue(slot);
                continue;
            }

            var before = Position(previous, slot);
            var wasPrimary = before == 0 && previous!.SelfState != MemberStates.Joining;
            if (position == 0 && serving && !wasPrimary)
            {
                if (!gate.IsClosed(slot))
                {
                    gate.Close(slot);
                    _led.Enqueue(slot);
                }
            }
            else if (before < 0)
            {
                _replicated.Enqueue(slot);
            }
        }

        Volatile.Write(ref _pendingCount, _led.Count + _replicated.Count);
        if (previous is null || _led.Count > 0 || startsLeaving || view.SelfState != previous.SelfState)
            LogPlanned(view.Epoch, view.SelfState, _led.Count, _replicated.Count);
    }

    // Whether this node holds a copy of `slot` in the current or the target ring.
    private static bool Holds(ClusterView view, int slot) =>
        (view.SelfIndex >= 0 && view.Ring.ReplicasOf(slot).Contains(view.SelfIndex)) ||
        (view.TargetSelfIndex >= 0 && view.TargetRing.ReplicasOf(slot).Contains(view.TargetSelfIndex));

    // Drops the data of the slots whose grace period is over and that this node still does not hold.
    private void DropDueSlots()
    {
        if (_drops.Count == 0 || _server.Store is not Storage.Log.LogStore store || _planned is not { } view)
            return;
        var now = _server.Time.GetTimestamp();
        var due = new List<int>();
        foreach (var (slot, at) in _drops)
        {
            if (at <= now && !Holds(view, slot))
                due.Add(slot);
        }

        if (due.Count == 0)
            return;
        foreach (var slot in due)
            _drops.Remove(slot);
        var removed = store.DropSlots(due);
        LogDropped(due.Count, removed);
    }

    // This node's position among the replicas of `slot` in the ring it holds slots by (the target ring while it
    // joins), or -1; -1 too on a ring of one copy or one member, where there is nobody to sync with.
    private static int Position(ClusterView? view, int slot)
    {
        if (view is null)
            return -1;
        var joining = view.SelfState == MemberStates.Joining;
        var ring = joining ? view.TargetRing : view.Ring;
        var self = joining ? view.TargetSelfIndex : view.SelfIndex;
        if (self < 0 || ring.ReplicaCount <= 1 || ring.Members.Count <= 1)
            return -1;
        return ring.ReplicasOf(slot).IndexOf(self);
    }

    /// <summary>Seconds the pending slots should take at the rate slots were pulled so far (0 when none pending).</summary>
    public long EstimatedSecondsLeft
    {
        get
        {
            var pending = PendingSlots;
            var pulled = SlotsPulled;
            var seconds = TimeSpan.FromTicks(Interlocked.Read(ref _pullTicks)).TotalSeconds;
            return pending == 0 || pulled == 0 ? 0 : (long)Math.Ceiling(pending * seconds / pulled);
        }
    }

    private async Task PullBatchAsync(CancellationToken stoppingToken)
    {
        var started = _server.Time.GetTimestamp();
        try
        {
            await PullNextBatchAsync(stoppingToken);
        }
        finally
        {
            Interlocked.Add(ref _pullTicks, _server.Time.GetElapsedTime(started).Ticks);
        }
    }

    private async Task PullNextBatchAsync(CancellationToken stoppingToken)
    {
        var queue = _led.Count > 0 ? _led : _replicated;
        var slots = new List<int>(DigestBatch);
        while (slots.Count < DigestBatch && queue.TryDequeue(out var slot))
            slots.Add(slot);

        // Sources: every other holder of the slot, now or in the target ring.
        var view = _server.Membership.Current;
        var bySource = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        foreach (var slot in slots)
        {
            AddSources(view, view.Ring, slot, bySource);
            if (view.InTransition)
                AddSources(view, view.TargetRing, slot, bySource);
        }

        var failed = new HashSet<int>();
        foreach (var (id, list) in bySource)
        {
            var source = view.ById[id];
            try
            {
                await PullAsync(source, list, stoppingToken);
            }
            catch (Exception ex) when (Router.IsUnreachable(ex) || ex is FormatException)
            {
                LogSourceFailed(source.Id, list.Count, ex.Message);
                failed.UnionWith(list);
            }
        }

        // A slot whose pull failed (a source overloaded or restarting) is tried again, a few times, while its gate
        // stays closed; a source that is dead leaves the ring within its lease and is not asked again.
        var done = 0;
        foreach (var slot in slots)
        {
            if (failed.Contains(slot) && (_attempts[slot] = _attempts.GetValueOrDefault(slot) + 1) < MaxAttempts)
            {
                queue.Enqueue(slot);
                continue;
            }

            _attempts.Remove(slot);
            _server.Router.Gate.Open(slot);
            done++;
        }

        Interlocked.Add(ref _slotsPulled, done);
        Volatile.Write(ref _pendingCount, _led.Count + _replicated.Count);
        if (_server.Time.GetElapsedTime(_lastProgress) >= ProgressInterval && _pendingCount > 0)
        {
            _lastProgress = _server.Time.GetTimestamp();
            LogProgress(_pendingCount, SlotsPulled, KeysPulled, KeysPushed, RecentBytesPerSecond);
        }
        if (queue == _led && _led.Count == 0)
            LogLedReady(_server.Router.Gate.ClosedCount);
    }

    private static void AddSources(ClusterView view, HashRing ring, int slot, Dictionary<string, List<int>> bySource)
    {
        foreach (var member in ring.ReplicasOf(slot))
        {
            var id = ring.Members[member].Id;
            if (id == view.SelfId)
                continue;
            if (!bySource.TryGetValue(id, out var list))
                bySource[id] = list = [];
            if (list.Count == 0 || list[^1] != slot)
                list.Add(slot);
        }
    }

    /// <summary>
    /// --leave-on-shutdown: marks this node leaving and completes once every slot it held is synced with the
    /// replicas that stay (or at once when no other member is ready to take them).
    /// </summary>
    public async Task LeaveAsync(CancellationToken ct)
    {
        var view = _server.Membership.Current;
        if (view.SelfState == MemberStates.Ready && !view.Members.Any(m => m.Id != view.SelfId && m.State == MemberStates.Ready))
            return;
        if (view.SelfState != MemberStates.Leaving)
        {
            LogLeavingOnShutdown(view.SelfId);
            if (!await _server.Membership.SetStateAsync(MemberStates.Leaving, ct))
                return;
        }

        await _left.Task.WaitAsync(ct);
    }

    // Every slot pulled: a joining node turns itself ready (the target ring becomes the ring); a leaving node,
    // whose slots the target replicas now hold, deregisters and stops.
    private async Task FinishAsync(ClusterView view, CancellationToken stoppingToken)
    {
        if (view.SelfState == MemberStates.Joining)
        {
            try
            {
                if (await _server.Membership.SetStateAsync(MemberStates.Ready, stoppingToken))
                    LogJoined(view.SelfId);
            }
            catch (Exception ex) when (ex is not (OutOfMemoryException or OperationCanceledException))
            {
                LogFinishFailed(ex.Message);
            }
        }
        else if (view.SelfState == MemberStates.Leaving && !_left.Task.IsCompleted)
        {
            LogLeft(view.SelfId);
            // Out of the ring first; then, while the others' views catch up, commands they still forward here
            // are served (a write runs here and is copied to the slot's replicas, which no longer include this
            // node); then stop.
            await _server.Membership.DeregisterAsync(stoppingToken);
            await Task.Delay(LeaveDrain, _server.Time, stoppingToken);
            _left.TrySetResult();
            _server.RequestShutdown();
        }
    }

    // Repairs `slots` between this node and `source`: digests first; for each slot that differs, the source's
    // listing, then the records it has newer are fetched and applied here, and the records this node has newer
    // (or the source lacks) are sent to it as replicated records. Both copies then hold the newest of each key.
    private async Task PullAsync(ClusterMember source, List<int> slots, CancellationToken stoppingToken)
    {
        var router = _server.Router;
        var digests = await router.SyncAsync(source, PeerConnection.Encode(["ESTORAJE.DIGESTS", .. slots.Select(slot => Text(slot))]));
        var differing = new List<int>();
        ReadDigests(digests, slots, differing);
        // A few slots at a time: their requests share the pipelined sync link, so round trips overlap.
        var next = 0;
        var workers = Enumerable.Range(0, Math.Min(ParallelSlots, differing.Count)).Select(async _ =>
        {
            while (true)
            {
                var index = Interlocked.Increment(ref next) - 1;
                if (index >= differing.Count)
                    return;
                stoppingToken.ThrowIfCancellationRequested();
                await RepairSlotAsync(source, differing[index], stoppingToken);
            }
        });
        await Task.WhenAll(workers);
    }

    // Lists the source's copy of `slot`, fetches what it holds newer, and sends it what this node holds newer.
    private async Task RepairSlotAsync(ClusterMember source, int slot, CancellationToken stoppingToken)
    {
        var router = _server.Router;
        var theirs = new Dictionary<byte[], long>(Commands.ByteArrayComparer.Instance);
        ulong cursor = 0;
        do
        {
            var listing = await router.SyncAsync(source, PeerConnection.Encode("ESTORAJE.SLOTSCAN", Text(slot), Text(cursor), Text(ScanCount)));
            cursor = ReadListing(listing, theirs);
        }
        while (cursor != 0);

        var newer = new List<byte[]>();
        foreach (var (key, version) in theirs)
        {
            if (!_server.Store.TryGetVersion(key, out var mine) || mine < version)
                newer.Add(key);
        }

        // Up to FetchWindow fetches of the slot in flight on the pipelined link; each is applied as it comes back.
        var fetches = new Queue<Task<byte[]>>();
        for (var i = 0; i < newer.Count || fetches.Count > 0;)
        {
            while (i < newer.Count && fetches.Count < FetchWindow)
            {
                fetches.Enqueue(router.SyncAsync(source, PeerConnection.Encode("ESTORAJE.FETCH", newer.GetRange(i, Math.Min(FetchBatch, newer.Count - i)))));
                i += FetchBatch;
            }

            var records = await fetches.Dequeue();
            var (applied, bytes) = Apply(records);
            var stats = PeerStatsOf(source.Id);
            Interlocked.Add(ref stats.KeysPulled, applied);
            Interlocked.Add(ref stats.BytesPulled, bytes);
            await ThrottleAsync(records.Length, stoppingToken);
        }

        await ThrottleAsync(await PushAsync(source, slot, theirs), stoppingToken);
    }

    // Sends `source` every record of `slot` this node holds newer than the source's listing says it does.
    private async Task<long> PushAsync(ClusterMember source, int slot, Dictionary<byte[], long> theirs)
    {
        long bytes = 0;
        var entries = new List<SlotEntry>();
        ulong cursor = 0;
        do
        {
            cursor = _index!.ScanSlot(slot, cursor, ScanCount, entries);
        }
        while (cursor != 0);

        var sent = new List<Task<byte[]>>();
        foreach (var entry in entries)
        {
            if (theirs.TryGetValue(entry.Key, out var version) && version >= entry.Version)
                continue;
            var buffer = new ArrayBufferWriter<byte>();
            if (Records.Write(new RespWriter(buffer), _server.Store, entry.Key, "ESTORAJE.APPLY"u8))
            {
                sent.Add(_server.Router.CopyAsync(source, buffer.WrittenSpan.ToArray()));
                bytes += buffer.WrittenCount;
            }
        }

        await Task.WhenAll(sent);
        Interlocked.Add(ref _keysPushed, sent.Count);
        Interlocked.Add(ref _bytesPushed, bytes);
        var stats = PeerStatsOf(source.Id);
        Interlocked.Add(ref stats.KeysPushed, sent.Count);
        Interlocked.Add(ref stats.BytesPushed, bytes);
        return bytes;
    }

    private static string Text(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string Text(ulong value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private void ReadDigests(byte[] reply, List<int> slots, List<int> differing)
    {
        var reader = new ReplyReader(reply);
        if (reader.ReadArrayHeader() != slots.Count * 2L)
            throw new FormatException("ESTORAJE.DIGESTS answered a different number of slots.");
        foreach (var slot in slots)
        {
            var count = reader.ReadInteger();
            var digest = (ulong)reader.ReadInteger();
            var mine = _index!.GetSlotDigest(slot);
            if (mine.Count != count || mine.Digest != digest)
                differing.Add(slot);
        }
    }

    // Reads one SLOTSCAN step into `theirs` (key → the source's version); returns the next cursor.
    private static ulong ReadListing(byte[] reply, Dictionary<byte[], long> theirs)
    {
        var reader = new ReplyReader(reply);
        if (reader.ReadArrayHeader() != 2)
            throw new FormatException("ESTORAJE.SLOTSCAN answered something else than [cursor, entries].");
        var cursor = reader.ReadBulkUnsigned();
        var fields = reader.ReadArrayHeader();
        for (var i = 0; i < fields; i += 3)
        {
            var key = reader.ReadBulk().ToArray();
            theirs[key] = reader.ReadInteger();
            reader.ReadInteger(); // tombstone: the version alone decides
        }

        return cursor;
    }

    // Applies fetched records; returns how many were newer here and the bytes read.
    private (long Applied, long Bytes) Apply(byte[] reply)
    {
        var reader = new ReplyReader(reply);
        var count = reader.ReadArrayHeader();
        long applied = 0, bytes = 0;
        for (var i = 0; i < count; i++)
        {
            if (Records.Read(ref reader) is not { } record)
                continue;
            if (_server.Store.Apply(record))
                applied++;
            bytes += record.Key.Length + record.Length;
        }

        Interlocked.Add(ref _keysPulled, applied);
        Interlocked.Add(ref _bytesPulled, bytes);
        return (applied, bytes);
    }

    /// <summary>Per peer: records and bytes pulled from it and pushed to it since start.</summary>
    public IReadOnlyDictionary<string, PeerSyncStats> PeerStats => _peerStats;

    private PeerSyncStats PeerStatsOf(string id) => _peerStats.GetOrAdd(id, static _ => new PeerSyncStats());

    [LoggerMessage(Level = LogLevel.Information, Message = "Slot sync for ring epoch {Epoch} ({State}): {Led} slots to pull before leading them, {Replicated} to pull as a replica")]
    private partial void LogPlanned(long epoch, string state, int led, int replicated);

    [LoggerMessage(Level = LogLevel.Information, Message = "Slot sync: {Pending} slots pending; {Slots} slots compared, {Pulled} records pulled and {Pushed} pushed so far, {Rate} bytes/s")]
    private partial void LogProgress(int pending, long slots, long pulled, long pushed, long rate);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slot sync: could not turn this node ready in etcd (will retry): {Reason}")]
    private partial void LogFinishFailed(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Id} is shutting down with --leave-on-shutdown: handing its slots over first")]
    private partial void LogLeavingOnShutdown(string id);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped the data of {Slots} slots this node no longer holds ({Keys} keys and tombstones)")]
    private partial void LogDropped(int slots, int keys);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Id} pulled every slot it will hold: it is ready")]
    private partial void LogJoined(string id);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Id} left: every slot it held is synced with its replicas in the target ring; deregistering and stopping")]
    private partial void LogLeft(string id);

    [LoggerMessage(Level = LogLevel.Information, Message = "Slot sync: every slot this node leads is pulled and served ({Closed} still closed)")]
    private partial void LogLedReady(int closed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slot sync: could not pull {Slots} slots from {Source}: {Reason}")]
    private partial void LogSourceFailed(string source, int slots, string reason);
}

/// <summary>Slot sync traffic with one peer.</summary>
internal sealed class PeerSyncStats
{
    public long KeysPulled;
    public long BytesPulled;
    public long KeysPushed;
    public long BytesPushed;
}

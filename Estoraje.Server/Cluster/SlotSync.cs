using System.Buffers;
using System.Threading.Channels;
using Estoraje.Resp;
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

    private readonly ServerContext _server;
    private readonly ISlotIndex? _index;
    private readonly ILogger _logger;
    private readonly Channel<ClusterView> _views = Channel.CreateUnbounded<ClusterView>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Queue<int> _led = new();
    private readonly Queue<int> _replicated = new();
    private ClusterView? _planned;
    private long _slotsPulled;
    private long _keysPulled;
    private long _bytesPulled;
    private long _keysPushed;

    public SlotSync(ServerContext server, ILogger<SlotSync> logger)
    {
        _server = server;
        _index = server.Store as ISlotIndex;
        _logger = logger;
        server.SlotSync = this;
        if (_index is null)
            return;
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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_index is null)
            return;
        try
        {
            await _server.Loaded.WaitAsync(stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                while (_views.Reader.TryRead(out var view))
                    Plan(view);
                if (_led.Count + _replicated.Count == 0)
                {
                    Plan(await _views.Reader.ReadAsync(stoppingToken));
                    continue;
                }

                await PullBatchAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    // Compares the new view with the last one planned: slots newly led are closed and queued first, slots newly
    // replicated are queued after them. The first view of a node counts every slot it holds as new: a node that
    // restarts catches up on everything it missed while down.
    private void Plan(ClusterView view)
    {
        var previous = _planned;
        _planned = view;
        var ring = view.Ring;
        var self = view.SelfIndex;
        var gate = _server.Router.Gate;
        var replicated = self >= 0 && ring.ReplicaCount > 1 && ring.Members.Count > 1;
        for (var slot = 0; slot < Ring.KeySlot.Count; slot++)
        {
            var replicas = replicated ? ring.ReplicasOf(slot) : default;
            var position = replicas.IndexOf(self);
            if (position != 0)
                gate.Open(slot); // Not ours to lead (any more): whoever leads it now syncs it.
            if (position < 0)
                continue;
            var (wasPrimary, wasHolder) = Held(previous, slot);
            if (position == 0 && !wasPrimary)
            {
                if (!gate.IsClosed(slot))
                {
                    gate.Close(slot);
                    _led.Enqueue(slot);
                }
            }
            else if (position > 0 && !wasHolder)
            {
                _replicated.Enqueue(slot);
            }
        }

        Volatile.Write(ref _pendingCount, _led.Count + _replicated.Count);
        if (previous is null || _led.Count > 0)
            LogPlanned(view.Epoch, _led.Count, _replicated.Count);
    }

    private static (bool Primary, bool Holder) Held(ClusterView? view, int slot)
    {
        if (view is null || view.SelfIndex < 0 || view.Ring.ReplicaCount <= 1 || view.Ring.Members.Count <= 1)
            return (false, false);
        var replicas = view.Ring.ReplicasOf(slot);
        return (replicas[0] == view.SelfIndex, replicas.IndexOf(view.SelfIndex) >= 0);
    }

    private async Task PullBatchAsync(CancellationToken stoppingToken)
    {
        var queue = _led.Count > 0 ? _led : _replicated;
        var slots = new List<int>(DigestBatch);
        while (slots.Count < DigestBatch && queue.TryDequeue(out var slot))
            slots.Add(slot);

        var view = _server.Membership.Current;
        var bySource = new Dictionary<int, List<int>>();
        foreach (var slot in slots)
        {
            if (view.SelfIndex < 0)
                break;
            foreach (var member in view.Ring.ReplicasOf(slot))
            {
                if (member == view.SelfIndex)
                    continue;
                if (!bySource.TryGetValue(member, out var list))
                    bySource[member] = list = [];
                list.Add(slot);
            }
        }

        foreach (var (member, list) in bySource)
        {
            var source = view.ById[view.Ring.Members[member].Id];
            try
            {
                await PullAsync(source, list, stoppingToken);
            }
            catch (Exception ex) when (Router.IsUnreachable(ex) || ex is FormatException)
            {
                LogSourceFailed(source.Id, list.Count, ex.Message);
            }
        }

        foreach (var slot in slots)
            _server.Router.Gate.Open(slot);
        Interlocked.Add(ref _slotsPulled, slots.Count);
        Volatile.Write(ref _pendingCount, _led.Count + _replicated.Count);
        if (queue == _led && _led.Count == 0)
            LogLedReady(_server.Router.Gate.ClosedCount);
    }

    // Repairs `slots` between this node and `source`: digests first; for each slot that differs, the source's
    // listing, then the records it has newer are fetched and applied here, and the records this node has newer
    // (or the source lacks) are sent to it as replicated records. Both copies then hold the newest of each key.
    private async Task PullAsync(ClusterMember source, List<int> slots, CancellationToken stoppingToken)
    {
        var router = _server.Router;
        var digests = await router.SyncAsync(source, Encode("ESTORAJE.DIGESTS", slots));
        var differing = new List<int>();
        ReadDigests(digests, slots, differing);
        foreach (var slot in differing)
        {
            stoppingToken.ThrowIfCancellationRequested();
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

            for (var i = 0; i < newer.Count; i += FetchBatch)
            {
                var keys = newer.GetRange(i, Math.Min(FetchBatch, newer.Count - i));
                Apply(await router.SyncAsync(source, Encode("ESTORAJE.FETCH", keys)));
            }

            await PushAsync(source, slot, theirs);
        }
    }

    // Sends `source` every record of `slot` this node holds newer than the source's listing says it does.
    private async Task PushAsync(ClusterMember source, int slot, Dictionary<byte[], long> theirs)
    {
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
                sent.Add(_server.Router.CopyAsync(source, buffer.WrittenSpan.ToArray()));
        }

        await Task.WhenAll(sent);
        Interlocked.Add(ref _keysPushed, sent.Count);
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
        for (var i = 0; i < fields; i += 2)
        {
            var key = reader.ReadBulk().ToArray();
            theirs[key] = reader.ReadInteger();
        }

        return cursor;
    }

    private void Apply(byte[] reply)
    {
        var reader = new ReplyReader(reply);
        var count = reader.ReadArrayHeader();
        for (var i = 0; i < count; i++)
        {
            if (Records.Read(ref reader) is not { } record)
                continue;
            if (_server.Store.Apply(record))
                Interlocked.Increment(ref _keysPulled);
            Interlocked.Add(ref _bytesPulled, record.Key.Length + record.Length);
        }
    }

    private static byte[] Encode(string command, List<int> slots)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new RespWriter(buffer);
        writer.WriteArrayHeader(slots.Count + 1);
        writer.WriteBulkString(command);
        foreach (var slot in slots)
            writer.WriteBulkString(slot);
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Encode(string command, List<byte[]> keys)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new RespWriter(buffer);
        writer.WriteArrayHeader(keys.Count + 1);
        writer.WriteBulkString(command);
        foreach (var key in keys)
            writer.WriteBulkString(key);
        return buffer.WrittenSpan.ToArray();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Slot sync for ring epoch {Epoch}: {Led} slots to pull before leading them, {Replicated} to pull as a replica")]
    private partial void LogPlanned(long epoch, int led, int replicated);

    [LoggerMessage(Level = LogLevel.Information, Message = "Slot sync: every slot this node leads is pulled and served ({Closed} still closed)")]
    private partial void LogLedReady(int closed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slot sync: could not pull {Slots} slots from {Source}: {Reason}")]
    private partial void LogSourceFailed(string source, int slots, string reason);
}

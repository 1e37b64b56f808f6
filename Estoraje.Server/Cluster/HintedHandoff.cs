using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Estoraje.Server.Cluster;

/// <summary>
/// Hinted handoff: a replicated record that a replica did not take (unreachable, or it answered an error such as
/// <c>-LOADING</c>) is kept here for that replica, in order, and delivered once it answers again, so a replica
/// that was away for a moment catches up without waiting for the next slot sync. Bounded per replica by count and
/// bytes: past either, its hints are dropped and slot sync (anti-entropy, or its return to the ring) repairs it.
/// Hints for a node that is no longer a member are dropped: the slots' new replicas pull them by slot sync.
/// </summary>
internal sealed partial class HintedHandoff : BackgroundService
{
    private readonly ServerContext _server;
    private readonly ILogger _logger;

    public HintedHandoff(ServerContext server, ILogger<HintedHandoff> logger)
    {
        _server = server;
        _logger = logger;
        server.Hints = this;
    }

    /// <summary>Records kept per replica at most.</summary>
    public const int MaxHintsPerPeer = 100_000;

    /// <summary>Bytes of records kept per replica at most.</summary>
    public const long MaxBytesPerPeer = 64L << 20;

    private static readonly TimeSpan s_retry = TimeSpan.FromSeconds(1);
    private const int DeliveryBatch = 256;

    private readonly ConcurrentDictionary<string, PeerHints> _peers = new(StringComparer.Ordinal);
    private long _delivered;
    private long _dropped;

    /// <summary>Records waiting for their replica.</summary>
    public long Pending
    {
        get
        {
            long total = 0;
            foreach (var peer in _peers.Values)
            {
                lock (peer)
                    total += peer.Records.Count;
            }

            return total;
        }
    }

    /// <summary>Records delivered late so far.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Records given up (over the bounds, or for a node that left) so far.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Keeps <paramref name="record"/> for <paramref name="target"/> if <paramref name="copy"/> fails or is refused.</summary>
    public void Watch(Task<byte[]> copy, ClusterMember target, byte[] record) =>
        copy.ContinueWith(
            static (task, state) =>
            {
                var (self, target, record) = ((HintedHandoff, ClusterMember, byte[]))state!;
                if (task.IsCompletedSuccessfully ? task.Result is [(byte)'-', ..] : task.Exception?.InnerException is { } ex && Router.IsUnreachable(ex))
                    self.Add(target.Id, record);
            },
            (this, target, record), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>Keeps a record for the replica <paramref name="id"/>.</summary>
    public void Add(string id, byte[] record)
    {
        var peer = _peers.GetOrAdd(id, _ => new PeerHints());
        lock (peer)
        {
            if (peer.Records.Count >= MaxHintsPerPeer || peer.Bytes + record.Length > MaxBytesPerPeer)
            {
                Interlocked.Add(ref _dropped, peer.Records.Count + 1);
                peer.Records.Clear();
                peer.Bytes = 0;
                LogOverflow(id);
                return;
            }

            peer.Records.Enqueue(record);
            peer.Bytes += record.Length;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(s_retry, _server.Time, stoppingToken);
                foreach (var (id, peer) in _peers)
                    await DeliverAsync(id, peer, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: hints live in memory only; slot sync covers what they held.
        }
    }

    // Sends the replica its hints in order, a batch at a time, until one fails (it is still away).
    private async Task DeliverAsync(string id, PeerHints peer, CancellationToken stoppingToken)
    {
        var view = _server.Membership.Current;
        if (!view.ById.TryGetValue(id, out var target))
        {
            lock (peer)
            {
                Interlocked.Add(ref _dropped, peer.Records.Count);
                peer.Records.Clear();
                peer.Bytes = 0;
            }

            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            byte[][] batch;
            lock (peer)
                batch = [.. peer.Records.Take(DeliveryBatch)];
            if (batch.Length == 0)
                return;

            var sent = batch.Select(record => _server.Router.CopyAsync(target, record)).ToArray();
            try
            {
                await Task.WhenAll(sent);
            }
            catch (Exception ex) when (Router.IsUnreachable(ex))
            {
                return;
            }

            if (sent.Any(t => t.Result is [(byte)'-', ..]))
                return;
            // Counted before they leave the queue: pending + delivered never dips.
            Interlocked.Add(ref _delivered, batch.Length);
            lock (peer)
            {
                for (var i = 0; i < batch.Length && peer.Records.Count > 0; i++)
                    peer.Bytes -= peer.Records.Dequeue().Length;
            }

            LogDelivered(batch.Length, id);
        }
    }

    private sealed class PeerHints
    {
        public Queue<byte[]> Records { get; } = new();

        public long Bytes { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Hinted handoff: delivered {Count} records to {Id}")]
    private partial void LogDelivered(int count, string id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Hinted handoff: too many records held for {Id}; dropped them, slot sync will repair it")]
    private partial void LogOverflow(string id);
}

using System.Text.Json;
using System.Text.Json.Serialization;
using dotnet_etcd;
using Estoraje.Ring;
using Estoraje.Server.Hosting;
using Estoraje.Storage;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Estoraje.Server.Cluster;

/// <summary>
/// Membership through etcd. Two loops run side by side: one keeps this node registered (a lease, the member key
/// attached to it, a keep-alive stream restarted whenever it breaks, a new lease when the old one is gone), the
/// other lists the members prefix and watches it from the listed revision, re-listing after any break, and
/// publishes a new <see cref="ClusterView"/> on every change. Until etcd first answers, the node serves as a ring
/// of one. Every unary call carries a short deadline: dotnet-etcd would otherwise retry a dead endpoint for
/// seconds, and a keep-alive stream that dies mid-call ends with an <see cref="IOException"/>, not an RpcException,
/// so every failure is caught alike.
/// </summary>
internal sealed partial class EtcdMembership : BackgroundService, IClusterMembership
{
    private static readonly TimeSpan s_callTimeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan s_revokeTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_firstRetry = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan s_lastRetry = TimeSpan.FromSeconds(4);

    private readonly ServerOptions _options;
    private readonly NodeIdentity _self;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RingOptions _ringOptions;
    private readonly string _prefix;
    private readonly string _selfKey;
    private readonly HybridClock? _clock;
    private EtcdClient? _client;
    private volatile ClusterView _current;
    private long _leaseId;
    private long _registeredUntil; // TimeProvider timestamp; 0 while not registered
    private int _republish;
    private long _putRevision; // etcd revision of this node's latest put of its member key
    private long _putModRevision; // mod revision of that put, for compare-and-swap on the member key
    private volatile string _state = MemberStates.Ready;
    private volatile bool _deregistered; // left the cluster for good: never register again

    public EtcdMembership(ServerOptions options, NodeIdentity self, TimeProvider time, ILogger<EtcdMembership> logger, HybridClock? clock = null)
    {
        _clock = clock;
        _options = options;
        _self = self;
        _time = time;
        _logger = logger;
        _ringOptions = new RingOptions { Replicas = options.Replicas };
        _prefix = MembersPrefix(options.ClusterName);
        _selfKey = _prefix + self.Id;
        _current = new ClusterView(self.Id, 0, [SelfRecord()], _ringOptions);
    }

    public ClusterView Current => _current;

    public bool IsRegistered => Volatile.Read(ref _registeredUntil) > _time.GetTimestamp();

    public event Action<ClusterView>? Changed;

    /// <summary>The key prefix members of <paramref name="cluster"/> register under.</summary>
    public static string MembersPrefix(string cluster) => $"/estoraje/{cluster}/members/";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Host start-up must not wait for anything here: the listener serves (as a ring of one) meanwhile.
        await Task.Yield();
        var endpoints = string.Join(',', _options.Etcd.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        LogJoining(_options.ClusterName, endpoints, _self.Id, _self.ClientAddress, _self.PeerAddress);
        _client = new EtcdClient(endpoints);
        await Task.WhenAll(RegisterLoopAsync(stoppingToken), WatchLoopAsync(stoppingToken));
    }

    /// <summary>Runs before the node deregisters on shutdown (with --leave-on-shutdown: hand its slots over first).</summary>
    public Func<CancellationToken, Task>? BeforeDeregister { get; set; }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (BeforeDeregister is { } hook && IsRegistered)
            await hook(cancellationToken);
        await base.StopAsync(cancellationToken);
        await DeregisterAsync(cancellationToken);
    }

    public async Task DeregisterAsync(CancellationToken cancellationToken)
    {
        _deregistered = true;
        var lease = Interlocked.Exchange(ref _leaseId, 0);
        Volatile.Write(ref _registeredUntil, 0);
        if (lease == 0 || _client is null)
            return;
        try
        {
            // Revoking deletes the member key now: the others drop this node at once instead of after the TTL.
            await _client.LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease }, deadline: Deadline(s_revokeTimeout), cancellationToken: cancellationToken);
            LogDeregistered(_self.Id);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogDeregisterFailed(_self.Id, ex.Message);
        }
    }

    public override void Dispose()
    {
        _client?.Dispose();
        base.Dispose();
    }

    private async Task RegisterLoopAsync(CancellationToken ct)
    {
        var attempt = 0;
        while (!ct.IsCancellationRequested && !_deregistered)
        {
            try
            {
                var grantedAt = _time.GetTimestamp();
                var grant = await _client!.LeaseGrantAsync(new LeaseGrantRequest { TTL = _options.LeaseTtl }, deadline: Deadline(), cancellationToken: ct);
                Interlocked.Exchange(ref _leaseId, grant.ID);
                await ClaimOrdinalAsync(ct);
                await ChooseInitialStateAsync(ct);
                await PutSelfAsync(grant.ID, ct);
                Volatile.Write(ref _registeredUntil, grantedAt + grant.TTL * _time.TimestampFrequency);
                Interlocked.Exchange(ref _republish, 0);
                LogRegistered(_self.Id, grant.ID, grant.TTL);
                attempt = 0;
                await KeepAliveAsync(grant.ID, grant.TTL, ct);
                Volatile.Write(ref _registeredUntil, 0);
                if (_deregistered)
                    return;
                LogLeaseLost(_self.Id, grant.ID);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                var delay = Backoff(++attempt);
                LogRegisterFailed(attempt, ex.Message, (long)delay.TotalMilliseconds);
                if (!await DelayAsync(delay, ct))
                    return;
            }
        }
    }

    /// <summary>
    /// Renews the lease every third of its TTL, restarting the stream when it breaks; returns once the lease is
    /// gone, throws <see cref="OperationCanceledException"/> when stopping.
    /// </summary>
    private async Task KeepAliveAsync(long lease, long ttl, CancellationToken ct)
    {
        var interval = TimeSpan.FromSeconds(ttl / 3.0);
        var failures = 0;
        while (true)
        {
            try
            {
                using var call = _client!.GetConnection().LeaseClient.LeaseKeepAlive(headers: null, deadline: null, cancellationToken: ct);
                while (true)
                {
                    // The member key vanished while the lease lives (deleted by hand): put it back.
                    if (Interlocked.Exchange(ref _republish, 0) == 1)
                        await PutSelfAsync(lease, ct);

                    var sentAt = _time.GetTimestamp();
                    await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = lease }, ct);
                    using (var answer = CancellationTokenSource.CreateLinkedTokenSource(ct))
                    {
                        answer.CancelAfter(TimeSpan.FromSeconds(Math.Min(s_callTimeout.TotalSeconds, ttl)));
                        if (!await call.ResponseStream.MoveNext(answer.Token))
                            throw new IOException("etcd closed the keep-alive stream.");
                    }

                    var renewed = call.ResponseStream.Current.TTL;
                    if (renewed <= 0)
                        return;
                    // Counted from when the request left, not when the answer came: never later than etcd's own clock.
                    Volatile.Write(ref _registeredUntil, sentAt + renewed * _time.TimestampFrequency);
                    failures = 0;
                    await Task.Delay(interval, _time, ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                if (!IsRegistered)
                    return;
                if (failures++ == 0)
                    LogKeepAliveFailed(lease, ex.Message);
                await Task.Delay(Backoff(failures), _time, ct);
            }
        }
    }

    /// <summary>The key prefix of the ordinals of <paramref name="cluster"/>: <c>&lt;prefix&gt;&lt;n&gt;</c> → node id, kept for good.</summary>
    public static string OrdinalsPrefix(string cluster) => $"/estoraje/{cluster}/ordinals/";

    /// <summary>This node's ordinal in the cluster (the low bits of its versions), or -1 before it has one.</summary>
    public int Ordinal { get; private set; } = -1;

    // Gives the node a number no other member of the cluster has: the one it claimed before (found by its id), or
    // the lowest free one, taken by a create-if-absent transaction so that two nodes starting together cannot
    // both take it. The clock stamps it into every version before the node takes its first write.
    private async Task ClaimOrdinalAsync(CancellationToken ct)
    {
        if (Ordinal >= 0)
            return;
        var prefix = OrdinalsPrefix(_options.ClusterName);
        while (true)
        {
            var range = await _client!.GetRangeAsync(prefix, deadline: Deadline(), cancellationToken: ct);
            var taken = new HashSet<int>();
            foreach (var kv in range.Kvs)
            {
                if (!int.TryParse(kv.Key.ToStringUtf8().AsSpan(prefix.Length), System.Globalization.CultureInfo.InvariantCulture, out var n))
                    continue;
                if (kv.Value.ToStringUtf8() == _self.Id)
                {
                    UseOrdinal(n);
                    return;
                }

                taken.Add(n);
            }

            var free = Enumerable.Range(0, HybridClock.OrdinalCount).FirstOrDefault(n => !taken.Contains(n), -1);
            if (free < 0)
                throw new InvalidOperationException($"All {HybridClock.OrdinalCount} ordinals of cluster '{_options.ClusterName}' are taken.");
            var key = ByteString.CopyFromUtf8(prefix + free.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var txn = new TxnRequest();
            txn.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = ByteString.CopyFromUtf8(_self.Id) } });
            var result = await _client.TransactionAsync(txn, deadline: Deadline(), cancellationToken: ct);
            if (result.Succeeded)
            {
                UseOrdinal(free);
                return;
            }

            // Another node took it between the listing and the transaction: list again.
        }
    }

    private void UseOrdinal(int ordinal)
    {
        Ordinal = ordinal;
        if (_clock is not null)
            _clock.Ordinal = ordinal;
        LogOrdinal(_self.Id, ordinal);
    }

    private async Task PutSelfAsync(long lease, CancellationToken ct)
    {
        var json = JsonSerializer.Serialize(SelfRecord(), MemberJson.Default.ClusterMember);
        var put = await _client!.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(_selfKey), Value = ByteString.CopyFromUtf8(json), Lease = lease },
            deadline: Deadline(), cancellationToken: ct);
        Interlocked.Exchange(ref _putRevision, put.Header.Revision);
        Interlocked.Exchange(ref _putModRevision, put.Header.Revision);
    }

    /// <summary>
    /// Whether a node (re-)registering while others serve comes in as <c>joining</c> and pulls its slots before it
    /// turns itself <c>ready</c> (needs a store with per-slot digests); otherwise it registers <c>ready</c> at once.
    /// </summary>
    public bool JoinWithSync { get; init; }

    public bool Dynamic => true;

    // A node that registers while other members serve joins: it is in the target ring only until it has pulled
    // its slots (SlotSync turns it ready). The first members of a new cluster, and a node without slot sync,
    // register ready.
    private async Task ChooseInitialStateAsync(CancellationToken ct)
    {
        if (!JoinWithSync || _state == MemberStates.Leaving)
            return;
        var range = await _client!.GetRangeAsync(_prefix, deadline: Deadline(), cancellationToken: ct);
        var others = false;
        foreach (var kv in range.Kvs)
        {
            if (TryParse(kv.Key, kv.Value, out var member) && member.Id != _self.Id && member.State is MemberStates.Ready or MemberStates.Leaving)
                others = true;
        }

        _state = others ? MemberStates.Joining : MemberStates.Ready;
    }

    public async Task<bool> SetStateAsync(string state, CancellationToken ct)
    {
        var lease = Interlocked.Read(ref _leaseId);
        if (lease == 0 || _client is null || !IsRegistered)
            return false;
        var previous = _state;
        _state = state;
        var json = JsonSerializer.Serialize(SelfRecord(), MemberJson.Default.ClusterMember);
        var key = ByteString.CopyFromUtf8(_selfKey);
        // Compare-and-swap on the node's own key: only over the registration this node made last.
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = Interlocked.Read(ref _putModRevision) });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = ByteString.CopyFromUtf8(json), Lease = lease } });
        var result = await _client.TransactionAsync(txn, deadline: Deadline(), cancellationToken: ct);
        if (!result.Succeeded)
        {
            _state = previous;
            return false;
        }

        Interlocked.Exchange(ref _putRevision, result.Header.Revision);
        Interlocked.Exchange(ref _putModRevision, result.Header.Revision);
        LogStateChanged(_self.Id, previous, state);
        return true;
    }

    public async Task<bool> ForgetAsync(string id, CancellationToken ct)
    {
        if (_client is null)
            return false;
        var deleted = await _client.DeleteAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(_prefix + id) }, deadline: Deadline(), cancellationToken: ct);
        return deleted.Deleted > 0;
    }

    private async Task WatchLoopAsync(CancellationToken ct)
    {
        var members = new SortedDictionary<string, ClusterMember>(StringComparer.Ordinal);
        var attempt = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var range = await _client!.GetRangeAsync(_prefix, deadline: Deadline(), cancellationToken: ct);
                members.Clear();
                foreach (var kv in range.Kvs)
                {
                    if (TryParse(kv.Key, kv.Value, out var member))
                        members[member.Id] = member;
                }

                Publish(members, range.Header.Revision);
                attempt = 0;
                await WatchAsync(members, range.Header.Revision + 1, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                var delay = Backoff(++attempt);
                // The registration loop already reports etcd being down once per attempt; this adds only the first.
                if (attempt == 1)
                    LogWatchFailed(ex.Message);
                if (!await DelayAsync(delay, ct))
                    return;
            }
        }
    }

    /// <summary>Applies watch events from <paramref name="fromRevision"/> until the stream ends or etcd cancels it.</summary>
    private async Task WatchAsync(SortedDictionary<string, ClusterMember> members, long fromRevision, CancellationToken ct)
    {
        using var call = _client!.GetConnection().WatchClient.Watch(headers: null, deadline: null, cancellationToken: ct);
        var create = new WatchCreateRequest
        {
            Key = ByteString.CopyFromUtf8(_prefix),
            RangeEnd = ByteString.CopyFromUtf8(PrefixEnd(_prefix)),
            StartRevision = fromRevision,
        };
        await call.RequestStream.WriteAsync(new WatchRequest { CreateRequest = create }, ct);
        while (await call.ResponseStream.MoveNext(ct))
        {
            var response = call.ResponseStream.Current;
            if (response.Canceled || response.CompactRevision > 0)
            {
                // Compacted past our revision (or refused): the list is the only way to catch up.
                LogWatchCanceled(response.CancelReason, response.CompactRevision);
                return;
            }

            if (response.Events.Count == 0)
                continue;
            var revision = response.Header.Revision;
            foreach (var e in response.Events)
            {
                if (e.Type == Mvccpb.Event.Types.EventType.Put)
                {
                    if (TryParse(e.Kv.Key, e.Kv.Value, out var member))
                        members[member.Id] = member;
                }
                else
                {
                    members.Remove(e.Kv.Key.ToStringUtf8()[_prefix.Length..]);
                }

                if (e.Kv.ModRevision > 0)
                    revision = e.Kv.ModRevision;
            }

            Publish(members, revision);
        }

        throw new IOException("etcd closed the watch stream.");
    }

    private void Publish(SortedDictionary<string, ClusterMember> members, long epoch)
    {
        // Missing from a view newer than our own put, while the lease lives: someone deleted the key.
        if (!members.ContainsKey(_self.Id) && IsRegistered && epoch > Interlocked.Read(ref _putRevision))
            Interlocked.Exchange(ref _republish, 1);

        var list = members.Values.ToList();
        if (!list.Exists(m => m.State == MemberStates.Ready) && !members.ContainsKey(_self.Id))
        {
            // No ring can be built of nobody: keep routing with the last one until a member is ready.
            LogNoReadyMembers(epoch, list.Count);
            return;
        }

        var previous = _current;
        var view = new ClusterView(_self.Id, epoch, list, _ringOptions);
        _current = view;
        if (!SameMembers(previous.Members, list))
        {
            var summary = string.Join(' ', list.Select(m => m.Id + "=" + m.State));
            LogView(epoch, view.Ring.Members.Count, list.Count, summary);
        }
        try
        {
            Changed?.Invoke(view);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogChangedHandlerFailed(ex);
        }
    }

    private bool TryParse(ByteString key, ByteString value, out ClusterMember member)
    {
        var id = key.ToStringUtf8()[_prefix.Length..];
        member = null!;
        ClusterMember? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(value.Span, MemberJson.Default.ClusterMember);
        }
        catch (JsonException ex)
        {
            LogBadMember(id, ex.Message);
            return false;
        }

        // Whatever another process wrote must not break the ring build: check what the ring relies on.
        if (parsed is null || !NodeIdentity.IsValidId(id) || string.IsNullOrEmpty(parsed.ClientAddress)
            || !(parsed.Weight > 0) || double.IsInfinity(parsed.Weight))
        {
            LogBadMember(id, "missing address, invalid id or weight");
            return false;
        }

        member = parsed with { Id = id, Zone = string.IsNullOrEmpty(parsed.Zone) ? null : parsed.Zone };
        return true;
    }

    private static bool SameMembers(IReadOnlyList<ClusterMember> a, List<ClusterMember> b)
    {
        if (a.Count != b.Count)
            return false;
        for (var i = 0; i < a.Count; i++)
        {
            if (a[i] != b[i])
                return false;
        }

        return true;
    }

    private ClusterMember SelfRecord() => new(_self.Id, _self.ClientAddress, _self.PeerAddress, _state, _options.Weight,
        string.IsNullOrEmpty(_options.Zone) ? null : _options.Zone);

    /// <summary>The first key after every key starting with <paramref name="prefix"/>: etcd's range end for a prefix.</summary>
    private static string PrefixEnd(string prefix) => prefix[..^1] + (char)(prefix[^1] + 1);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Id} is now {State} (was {Previous})")]
    private partial void LogStateChanged(string id, string previous, string state);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Id} has ordinal {Ordinal} in its cluster (the low bits of its write versions)")]
    private partial void LogOrdinal(string id, int ordinal);

    private DateTime Deadline(TimeSpan? timeout = null) => _time.GetUtcNow().UtcDateTime + (timeout ?? s_callTimeout);

    private static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds(Math.Min(s_lastRetry.TotalMilliseconds, s_firstRetry.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 10))));

    /// <summary>Waits; false when stopping.</summary>
    private async Task<bool> DelayAsync(TimeSpan delay, CancellationToken ct)
    {
        try
        {
            await Task.Delay(delay, _time, ct);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Joining cluster '{Cluster}' through etcd {Endpoints} as node {NodeId} (clients {ClientAddress}, peers {PeerAddress})")]
    private partial void LogJoining(string cluster, string endpoints, string nodeId, string clientAddress, string peerAddress);

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered in etcd as node {NodeId} (lease {Lease:x}, TTL {Ttl} s)")]
    private partial void LogRegistered(string nodeId, long lease, long ttl);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot register in etcd (attempt {Attempt}): {Reason}; retrying in {DelayMs} ms, serving with the last known ring meanwhile")]
    private partial void LogRegisterFailed(int attempt, string reason, long delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease keep-alive for {Lease:x} failed: {Reason}; retrying while the lease lasts")]
    private partial void LogKeepAliveFailed(long lease, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId} lost its lease {Lease:x}: not registered (writes refused) until it re-registers")]
    private partial void LogLeaseLost(string nodeId, long lease);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot watch cluster members in etcd: {Reason}; retrying")]
    private partial void LogWatchFailed(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "etcd cancelled the members watch ({Reason}, compacted at {CompactRevision}): listing again")]
    private partial void LogWatchCanceled(string reason, long compactRevision);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cluster view at epoch {Epoch}: {Ready} ready of {Members} members: {List}")]
    private partial void LogView(long epoch, int ready, int members, string list);

    [LoggerMessage(Level = LogLevel.Debug, Message = "No ready member at epoch {Epoch} ({Members} registered): keeping the previous ring")]
    private partial void LogNoReadyMembers(long epoch, int members);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignoring member '{NodeId}' in etcd: {Reason}")]
    private partial void LogBadMember(string nodeId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "A cluster view subscriber failed")]
    private partial void LogChangedHandlerFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} deregistered from etcd (lease revoked)")]
    private partial void LogDeregistered(string nodeId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId} could not deregister from etcd: {Reason}; its lease expires by itself")]
    private partial void LogDeregisterFailed(string nodeId, string reason);
}

/// <summary>The member record as stored in etcd: camelCase JSON, e.g. <c>{"id":"a1","clientAddress":"10.0.0.1:6379",...}</c>.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ClusterMember))]
internal sealed partial class MemberJson : JsonSerializerContext;

using System.Collections.Concurrent;
using System.Net;
using Estoraje.Resp;
using Estoraje.Server.Commands;

namespace Estoraje.Server.Cluster;

/// <summary>Where a command runs.</summary>
internal enum RouteKind
{
    /// <summary>On this node: it is the primary of the command's slot, or the command has no key.</summary>
    Local,

    /// <summary>On the primary of the command's slot, another node.</summary>
    Forward,

    /// <summary>Its keys hash to different slots (the caller replies -CROSSSLOT).</summary>
    CrossSlot,

    /// <summary>A multi-key command whose keys live on several nodes: split by node, run everywhere, merged.</summary>
    FanOut,

    /// <summary>
    /// On this node, once its slot opens: this node just became the slot's primary and is pulling the slot from
    /// the other replicas (<see cref="SlotSync"/>). The command then reaches this node through its own peer link.
    /// </summary>
    Wait,
}

/// <summary>The peer links to one node: each kind has its own connection, so that one kind never queues behind another.</summary>
internal enum PeerLink
{
    /// <summary>Commands forwarded for clients (one link per protocol).</summary>
    Forward,

    /// <summary>Replicated records (ESTORAJE.APPLY).</summary>
    Copies,

    /// <summary>Slot sync: digests, listings and records pulled.</summary>
    Sync,

    /// <summary>Pub/sub: messages published on another node, and PUBSUB questions about this node's subscribers.</summary>
    PubSub,
}

/// <summary>How the replies of a command split across nodes are merged into one.</summary>
internal enum MergeKind
{
    /// <summary>Not split: keys in several slots are refused (-CROSSSLOT).</summary>
    None,

    /// <summary>MGET: one array, elements back in the client's key order.</summary>
    Array,

    /// <summary>DEL, UNLINK, EXISTS, TOUCH: the sum of the integers.</summary>
    Sum,

    /// <summary>MSET: +OK when every part replied +OK.</summary>
    AllOk,

    /// <summary>KEYS: the arrays of every node, one after the other.</summary>
    Concat,

    /// <summary>RANDOMKEY: one of the nodes' non-null answers, at random.</summary>
    AnyNonNull,

    /// <summary>SCAN: a single node's step, its cursor carrying the node's position.</summary>
    Scan,
}

/// <summary>
/// Decides where each command runs from the current cluster view (proxy mode: every node accepts every
/// command) and forwards to other nodes over pipelined peer connections, one per peer and protocol.
/// </summary>
internal sealed class Router : IAsyncDisposable
{
    public const string CrossSlotError = "CROSSSLOT Keys in request don't hash to the same slot";

    public const string NotRegisteredError = "TRYAGAIN this node is not registered in the cluster (etcd unreachable); writes are refused until it is";

    // Per peer: a link per protocol for forwarded commands, one for replicated records and one for slot sync. A
    // forwarded write waits for its copies before the next command on its link runs; if the copies used the
    // same links, two nodes forwarding writes to each other would each wait behind the other's write.
    private readonly ConcurrentDictionary<(string Id, string Address, int Protocol, PeerLink Link), PeerConnection> _peers = new();
    private readonly string _secret;
    private readonly long[] _sent = new long[4];

    public Router(IClusterMembership membership, string secret, TimeSpan timeout, bool readFromReplica = false)
    {
        ReadFromReplica = readFromReplica;
        Membership = membership;
        _secret = secret;
        Timeout = timeout;
    }

    public IClusterMembership Membership { get; }

    /// <summary>Whether read-only commands run here whenever this node holds a copy of their slot.</summary>
    public bool ReadFromReplica { get; }

    /// <summary>Slots this node leads but does not serve yet (being synced).</summary>
    public SlotGate Gate { get; } = new();

    /// <summary>How long a forwarded command may take before the client gets -TRYAGAIN.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Decides where <paramref name="request"/> runs; <paramref name="target"/> is set for <see cref="RouteKind.Forward"/>.</summary>
    public RouteKind Route(CommandDefinition command, RespRequest request, out ClusterMember? target, out int slot)
    {
        target = null;
        slot = -1;
        var view = Membership.Current;
        var ring = view.Ring;
        // One node holding everything (standalone, or a cluster of one): no key is hashed at all.
        if (view.Alone)
            return RouteKind.Local;
        // Pub/sub is not about keys: a shard channel is published to every node like any channel.
        if ((command.Flags & CommandFlags.PubSub) != 0)
            return RouteKind.Local;
        // Keyless commands about the whole keyspace ask every node.
        if (!command.HasKeys)
            return BroadcastOf(command) == MergeKind.None ? RouteKind.Local : RouteKind.FanOut;
        var keys = command.Keys(request);
        if (!keys.MoveNext())
            return RouteKind.Local;

        slot = Ring.KeySlot.Of(request[keys.Current]);
        while (keys.MoveNext())
        {
            if (Ring.KeySlot.Of(request[keys.Current]) == slot)
                continue;
            if (MergeOf(command) == MergeKind.None)
                return RouteKind.CrossSlot;

            // Keys of several slots: one node may still be primary of all of them.
            var first = ring.PrimaryOf(slot);
            foreach (var position in command.Keys(request))
            {
                if (ring.PrimaryOf(Ring.KeySlot.Of(request[position])) != first)
                    return RouteKind.FanOut;
            }

            break;
        }

        var primary = ring.PrimaryOf(slot);
        if (ReadFromReplica && primary != view.SelfIndex && (command.Flags & CommandFlags.ReadOnly) != 0 && ring.ReplicasOf(slot).Contains(view.SelfIndex))
            return RouteKind.Local;
        if (primary == view.SelfIndex)
            return Gate.ClosedCount > 0 && Gate.IsClosed(slot) ? RouteKind.Wait : RouteKind.Local;
        target = view.ById[ring.Members[primary].Id];
        return RouteKind.Forward;
    }

    /// <summary>How a multi-key command's replies merge when its keys are spread over nodes.</summary>
    public static MergeKind MergeOf(CommandDefinition command) => command.Name switch
    {
        "mget" => MergeKind.Array,
        "del" or "unlink" or "exists" or "touch" => MergeKind.Sum,
        "mset" => MergeKind.AllOk,
        _ => MergeKind.None,
    };

    /// <summary>How a keyless command over the whole keyspace merges the answers of every node.</summary>
    public static MergeKind BroadcastOf(CommandDefinition command) => command.Name switch
    {
        "dbsize" => MergeKind.Sum,
        "flushall" or "flushdb" => MergeKind.AllOk,
        "keys" => MergeKind.Concat,
        "randomkey" => MergeKind.AnyNonNull,
        "scan" => MergeKind.Scan,
        _ => MergeKind.None,
    };

    /// <summary>Sends an encoded request to <paramref name="target"/> and returns its reply in <paramref name="protocol"/>.</summary>
    public Task<byte[]> ForwardAsync(ClusterMember target, byte[] request, int protocol) => Send(target, request, protocol, PeerLink.Forward);

    /// <summary>Sends a replicated record (ESTORAJE.APPLY) to <paramref name="target"/> on the replication link.</summary>
    public Task<byte[]> CopyAsync(ClusterMember target, byte[] record) => Send(target, record, 2, PeerLink.Copies);

    /// <summary>Sends a slot sync request to <paramref name="target"/> on the sync link (RESP2).</summary>
    public Task<byte[]> SyncAsync(ClusterMember target, byte[] request) => Send(target, request, 2, PeerLink.Sync);

    /// <summary>
    /// Sends a pub/sub request (a published message, a PUBSUB question) to <paramref name="target"/> on the pub/sub
    /// link (RESP2), giving up after <paramref name="timeout"/>: an unanswered node must not hold a publisher long.
    /// </summary>
    public Task<byte[]> PubSubAsync(ClusterMember target, byte[] request, TimeSpan timeout) =>
        Send(target, request, 2, PeerLink.PubSub, timeout);

    /// <summary>
    /// Runs <paramref name="request"/> (the client's command on <paramref name="slot"/>) once the slot opens, on
    /// whichever node leads the slot then (normally this one, through its own peer link), and returns its reply;
    /// <c>-TRYAGAIN</c> when the slot stays closed past <see cref="Timeout"/>. Sends only after
    /// <paramref name="previous"/> was sent, and completes <paramref name="sent"/> once sent itself, so a batch's
    /// commands run in the order the client sent them.
    /// </summary>
    public async Task<byte[]> ForwardWhenOpenAsync(int slot, byte[] request, int protocol, Task previous, TaskCompletionSource sent)
    {
        Task<byte[]> reply;
        try
        {
            await previous;
            var open = Gate.WhenOpen(slot);
            if (!open.IsCompleted && await Task.WhenAny(open, Task.Delay(Timeout)) != open)
                return System.Text.Encoding.UTF8.GetBytes($"-TRYAGAIN slot {slot} is being synced on its new primary\r\n");
            var view = Membership.Current;
            var target = view.ById[view.Ring.Members[view.Ring.PrimaryOf(slot)].Id];
            reply = ForwardOrTryAgainAsync(target, request, protocol);
        }
        finally
        {
            sent.TrySetResult();
        }

        return await reply;
    }

    /// <summary>Requests on <paramref name="link"/> links not answered yet (for copies: the replication backlog).</summary>
    public int Outstanding(PeerLink link)
    {
        var total = 0;
        foreach (var (key, peer) in _peers)
        {
            if (key.Link == link)
                total += peer.Outstanding;
        }

        return total;
    }

    /// <summary>Whether <paramref name="target"/>'s RESP2 <paramref name="link"/> has left requests unanswered for longer than <paramref name="limit"/>.</summary>
    public bool IsStalled(ClusterMember target, PeerLink link, TimeSpan limit) =>
        _peers.TryGetValue((target.Id, target.PeerAddress, 2, link), out var peer) && peer.IsStalled(limit);

    /// <summary>Requests sent to other nodes so far, per <see cref="PeerLink"/> (forwarded commands, copies, sync).</summary>
    public long Sent(PeerLink link) => Interlocked.Read(ref _sent[(int)link]);

    private Task<byte[]> Send(ClusterMember target, byte[] request, int protocol, PeerLink link, TimeSpan? timeout = null)
    {
        Interlocked.Increment(ref _sent[(int)link]);
        var peer = _peers.GetOrAdd((target.Id, target.PeerAddress, protocol, link),
            key => new PeerConnection(ParseEndpoint(key.Address), _secret, key.Protocol));
        return peer.SendAsync(request, timeout ?? Timeout);
    }

    /// <summary>
    /// Forwards and returns the reply, or, when <paramref name="target"/> cannot be reached, a -TRYAGAIN error:
    /// never a wrong value, and the client may retry once the cluster view has caught up.
    /// </summary>
    public async Task<byte[]> ForwardOrTryAgainAsync(ClusterMember target, byte[] request, int protocol)
    {
        try
        {
            return await ForwardAsync(target, request, protocol);
        }
        catch (Exception ex) when (IsUnreachable(ex))
        {
            return TryAgainReply(target, ex);
        }
    }

    /// <summary>The -TRYAGAIN reply a client gets when <paramref name="target"/>, owner of its key, failed to answer.</summary>
    public static byte[] TryAgainReply(ClusterMember target, Exception failure) =>
        System.Text.Encoding.UTF8.GetBytes($"-TRYAGAIN the node owning this key ({target.Id}) cannot be reached: {failure.Message.ReplaceLineEndings(" ")}\r\n");

    /// <summary>Failures that mean "that node cannot be reached now".</summary>
    public static bool IsUnreachable(Exception ex) =>
        ex is IOException or TimeoutException or System.Net.Sockets.SocketException or ObjectDisposedException
            or Pipelines.Sockets.Unofficial.ConnectionResetException or Pipelines.Sockets.Unofficial.ConnectionAbortedException;

    public async ValueTask DisposeAsync()
    {
        foreach (var peer in _peers.Values)
            await peer.DisposeAsync();
        _peers.Clear();
    }

    internal static IPEndPoint ParseEndpoint(string address)
    {
        var colon = address.LastIndexOf(':');
        var host = address[..colon].Trim('[', ']');
        var port = int.Parse(address.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture);
        return IPAddress.TryParse(host, out var ip)
            ? new IPEndPoint(ip, port)
            : new IPEndPoint(Dns.GetHostAddresses(host)[0], port);
    }
}


using Estoraje.Ring;

namespace Estoraje.Server.Cluster;

/// <summary>Membership states of a node in etcd.</summary>
internal static class MemberStates
{
    public const string Joining = "joining";
    public const string Ready = "ready";
    public const string Leaving = "leaving";
}

/// <summary>One node as registered in etcd under <c>/estoraje/&lt;cluster&gt;/members/&lt;id&gt;</c>.</summary>
/// <param name="Id">Node id (persisted in the node's data directory).</param>
/// <param name="ClientAddress">host:port clients and forwarded commands reach it on.</param>
/// <param name="PeerAddress">host:port of its peer port.</param>
/// <param name="State">joining, ready or leaving.</param>
/// <param name="Weight">Relative capacity (ring tokens).</param>
/// <param name="Zone">Failure zone, or null.</param>
internal sealed record ClusterMember(string Id, string ClientAddress, string PeerAddress, string State = MemberStates.Ready,
    double Weight = 1.0, string? Zone = null);

/// <summary>
/// What a node knows of the cluster at one moment: the members, the rings built from them, and the etcd revision
/// it was read at (the ring epoch). Two rings: the current one (ready and leaving members: who serves now) and
/// the target one (ready and joining members: who will serve once joins and leaves are done). Slots whose
/// replicas differ between the two are in transition: their writes go to both replica sets. Immutable; replaced
/// whole on every change.
/// </summary>
internal sealed class ClusterView
{
    public ClusterView(string selfId, long epoch, IReadOnlyList<ClusterMember> members, RingOptions ringOptions)
    {
        SelfId = selfId;
        Epoch = epoch;
        Members = members;
        var current = members.Where(m => m.State is MemberStates.Ready or MemberStates.Leaving).ToList();
        // A node always routes with some ring: before any member serves (first start) it serves alone.
        if (current.Count == 0)
            current = [.. members.Where(m => m.Id == selfId)];
        var target = members.Where(m => m.State is MemberStates.Ready or MemberStates.Joining).ToList();
        if (target.Count == 0)
            target = current;
        Ring = HashRing.Build(current.Select(m => new RingMember(m.Id, m.Weight, m.Zone)), ringOptions);
        TargetRing = SameIds(current, target) ? Ring : HashRing.Build(target.Select(m => new RingMember(m.Id, m.Weight, m.Zone)), ringOptions);
        ById = members.ToDictionary(m => m.Id, StringComparer.Ordinal);
        SelfIndex = Ring.IndexOf(selfId);
        TargetSelfIndex = TargetRing.IndexOf(selfId);
        SelfState = ById.TryGetValue(selfId, out var self) ? self.State : MemberStates.Ready;
    }

    public string SelfId { get; }

    /// <summary>etcd revision of the last membership change seen (0 when standalone).</summary>
    public long Epoch { get; }

    public IReadOnlyList<ClusterMember> Members { get; }

    /// <summary>The current ring: ready and leaving members. Commands are routed by it.</summary>
    public HashRing Ring { get; }

    /// <summary>The ring once every join and leave in progress is done (the same object when none is).</summary>
    public HashRing TargetRing { get; }

    /// <summary>Whether some members are joining or leaving.</summary>
    public bool InTransition => !ReferenceEquals(Ring, TargetRing);

    /// <summary>Every member by id, whatever its state.</summary>
    public IReadOnlyDictionary<string, ClusterMember> ById { get; }

    /// <summary>This node's index in <see cref="Ring"/>, or -1 when it is not a ready or leaving member.</summary>
    public int SelfIndex { get; }

    /// <summary>This node's index in <see cref="TargetRing"/>, or -1 (it is leaving, or not a member).</summary>
    public int TargetSelfIndex { get; }

    /// <summary>This node's state as registered (ready when it is not registered, e.g. standalone).</summary>
    public string SelfState { get; }

    /// <summary>Whether this node holds every slot alone (standalone, or a cluster of one): no key needs hashing.</summary>
    public bool Alone => Ring.Members.Count == 1 && SelfIndex == 0;

    /// <summary>The member at <paramref name="index"/> of <paramref name="ring"/> (one of this view's rings).</summary>
    public ClusterMember MemberOf(HashRing ring, int index) => ById[ring.Members[index].Id];

    private static bool SameIds(List<ClusterMember> a, List<ClusterMember> b) =>
        a.Count == b.Count && a.Select(m => m.Id).Order(StringComparer.Ordinal).SequenceEqual(b.Select(m => m.Id).Order(StringComparer.Ordinal), StringComparer.Ordinal);

    /// <summary>The single-node view of a standalone server.</summary>
    public static ClusterView Standalone(string selfId, string clientAddress) =>
        new(selfId, 0, [new ClusterMember(selfId, clientAddress, clientAddress)], new RingOptions { Replicas = 1 });
}

/// <summary>Source of cluster views: etcd membership, or a fixed standalone view.</summary>
internal interface IClusterMembership
{
    /// <summary>The latest view (read without locking; replaced whole).</summary>
    ClusterView Current { get; }

    /// <summary>
    /// Whether this node's registration is known to be alive right now (always, when standalone). While it is
    /// not, other nodes may already have dropped this one from their rings: it must not accept writes.
    /// </summary>
    bool IsRegistered { get; }

    /// <summary>Raised after <see cref="Current"/> changed.</summary>
    event Action<ClusterView>? Changed;

    /// <summary>Whether members come and go (etcd); false for a fixed member list or a standalone node.</summary>
    bool Dynamic => false;

    /// <summary>
    /// Changes this node's registered state (joining → ready, ready → leaving) with a compare-and-swap on its own
    /// registration; false when it is not registered or its registration changed meanwhile.
    /// </summary>
    Task<bool> SetStateAsync(string state, CancellationToken ct) => Task.FromResult(false);

    /// <summary>Removes this node's registration now (its lease is revoked): the others drop it from their rings.</summary>
    Task DeregisterAsync(CancellationToken ct) => Task.CompletedTask;

    /// <summary>Removes another member's registration at once (a dead node); false when there was none.</summary>
    Task<bool> ForgetAsync(string id, CancellationToken ct) => Task.FromResult(false);
}

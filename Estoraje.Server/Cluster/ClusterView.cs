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
/// What a node knows of the cluster at one moment: the members, the ring built from the ready ones, and
/// the etcd revision it was read at (the ring epoch). Immutable; replaced whole on every change.
/// </summary>
internal sealed class ClusterView
{
    public ClusterView(string selfId, long epoch, IReadOnlyList<ClusterMember> members, RingOptions ringOptions)
    {
        SelfId = selfId;
        Epoch = epoch;
        Members = members;
        var ready = members.Where(m => m.State == MemberStates.Ready).ToList();
        // A node always routes with some ring: before any member is ready (first start) it serves alone.
        if (ready.Count == 0)
            ready = [.. members.Where(m => m.Id == selfId)];
        Ring = HashRing.Build(ready.Select(m => new RingMember(m.Id, m.Weight, m.Zone)), ringOptions);
        ById = ready.ToDictionary(m => m.Id, StringComparer.Ordinal);
        SelfIndex = Ring.IndexOf(selfId);
    }

    public string SelfId { get; }

    /// <summary>etcd revision of the last membership change seen (0 when standalone).</summary>
    public long Epoch { get; }

    public IReadOnlyList<ClusterMember> Members { get; }

    public HashRing Ring { get; }

    /// <summary>Ready members by id.</summary>
    public IReadOnlyDictionary<string, ClusterMember> ById { get; }

    /// <summary>This node's index in <see cref="Ring"/>, or -1 when it is not a ready member.</summary>
    public int SelfIndex { get; }

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
}

using Estoraje.Ring;

namespace Estoraje.Server.Cluster;

/// <summary>
/// A membership that never changes: the standalone node (a ring of one), or a fixed member list given with
/// <c>--members id@clienthost:port@peerhost:port,...</c> (for tests and for clusters without etcd).
/// </summary>
internal sealed class StaticMembership : IClusterMembership
{
    public StaticMembership(ClusterView view) => Current = view;

    public ClusterView Current { get; }

    public bool IsRegistered => true;

    /// <summary>This node's position in <c>--members</c> (0 standalone): the ordinal in its write versions.</summary>
    public int Ordinal => Math.Max(0, Current.Members.ToList().FindIndex(m => m.Id == Current.SelfId)) % Storage.HybridClock.OrdinalCount;

    /// <summary>The membership of a node without etcd: its <c>--members</c> list, or itself alone.</summary>
    public static StaticMembership For(Hosting.ServerOptions options, NodeIdentity identity) =>
        options.Members.Length > 0
            ? Parse(identity.Id, options.Members, options.Replicas)
            : new StaticMembership(ClusterView.Standalone(identity.Id, identity.ClientAddress));

    // Never raised: the membership is fixed.
    public event Action<ClusterView>? Changed
    {
        add { }
        remove { }
    }

    /// <summary>Parses <c>id@client@peer,...</c>; the view's ring has <paramref name="replicas"/> replicas.</summary>
    public static StaticMembership Parse(string selfId, string members, int replicas)
    {
        var list = new List<ClusterMember>();
        foreach (var item in members.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = item.Split('@');
            if (parts.Length != 3)
                throw new FormatException($"Member '{item}' is not id@clienthost:port@peerhost:port.");
            list.Add(new ClusterMember(parts[0], parts[1], parts[2]));
        }

        if (!list.Exists(m => m.Id == selfId))
            throw new FormatException($"This node's id '{selfId}' is not among --members.");
        return new StaticMembership(new ClusterView(selfId, 1, list, new RingOptions { Replicas = replicas }));
    }
}

namespace Estoraje.Server.Cluster;

/// <summary>A node without etcd: a ring of one that never changes, always registered.</summary>
internal sealed class StandaloneMembership(NodeIdentity identity) : IClusterMembership
{
    public ClusterView Current { get; } = ClusterView.Standalone(identity.Id, identity.ClientAddress);

    public bool IsRegistered => true;

    // Never raised: the view never changes.
    public event Action<ClusterView>? Changed
    {
        add { }
        remove { }
    }
}

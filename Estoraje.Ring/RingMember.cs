namespace Estoraje.Ring;

/// <summary>A member of the ring: a node id, its relative capacity and, optionally, its failure zone.</summary>
/// <param name="Id">Unique node id; the ring orders and hashes by it (ordinal), never by insertion order.</param>
/// <param name="Weight">Relative capacity: a member of weight 2 places twice the tokens of one of weight 1.</param>
/// <param name="Zone">Failure zone; replica sets prefer members of distinct zones. Null: no zone.</param>
public sealed record RingMember(string Id, double Weight = 1.0, string? Zone = null);

/// <summary>How a ring is built.</summary>
public sealed record RingOptions
{
    /// <summary>
    /// Tokens a member of weight 1 places on the ring. 1024, not 256: over 20 random id sets of 3 to 32
    /// members the busiest member held up to 1.19× the mean share of primaries with 256 tokens, 1.16× with
    /// 512 and 1.11× with 1024 (target 1.15). Building a 100-member ring still takes only tens of milliseconds.
    /// </summary>
    public int VirtualNodes { get; init; } = 1024;

    /// <summary>Replicas per slot (N), capped at the member count.</summary>
    public int Replicas { get; init; } = 3;

    /// <summary>The defaults: 1024 virtual nodes, 3 replicas.</summary>
    public static RingOptions Default { get; } = new();
}

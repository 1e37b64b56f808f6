using System.Text;

namespace Estoraje.Ring;

/// <summary>
/// An immutable consistent-hash ring and its precomputed slot → replica set table. Each member places
/// <c>VirtualNodes × Weight</c> tokens on a 64-bit ring (a stable hash of its id and token number); slot
/// <c>s</c> sits at the fixed point <c>s · 2^50</c>; its replicas are the first N distinct members met
/// clockwise from that point (preferring distinct zones when members have them); the first is the primary.
/// The same member list gives the same table in every process, whatever the order it was given in.
/// Lookups read an array: no lock, no allocation. Hold the current ring in a field and replace it whole.
/// </summary>
public sealed class HashRing
{
    private const int SlotShift = 64 - 14;

    private readonly int[] _table; // KeySlot.Count × ReplicaCount member indices, primary first

    private HashRing(RingMember[] members, int replicas, int tokenCount, int[] table)
    {
        Members = members;
        ReplicaCount = replicas;
        TokenCount = tokenCount;
        _table = table;
    }

    /// <summary>The members, ordered by id (ordinal): indices in replica sets refer to this list.</summary>
    public IReadOnlyList<RingMember> Members { get; }

    /// <summary>Replicas per slot: the requested N, capped at the member count.</summary>
    public int ReplicaCount { get; }

    /// <summary>Tokens placed on the ring.</summary>
    public int TokenCount { get; }

    /// <summary>Builds the ring of <paramref name="members"/>.</summary>
    /// <exception cref="ArgumentException">No members, a duplicate id, or a weight that is not positive.</exception>
    public static HashRing Build(IEnumerable<RingMember> members, RingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(members);
        options ??= RingOptions.Default;
        if (options.VirtualNodes < 1 || options.Replicas < 1)
            throw new ArgumentException("Virtual nodes and replicas must be at least 1.", nameof(options));

        var sorted = members.ToArray();
        if (sorted.Length == 0)
            throw new ArgumentException("A ring needs at least one member.", nameof(members));
        Array.Sort(sorted, (a, b) => string.CompareOrdinal(a.Id, b.Id));
        for (var i = 0; i < sorted.Length; i++)
        {
            if (!(sorted[i].Weight > 0) || double.IsInfinity(sorted[i].Weight))
                throw new ArgumentException($"Member '{sorted[i].Id}' has weight {sorted[i].Weight}; weights must be positive.", nameof(members));
            if (i > 0 && sorted[i].Id == sorted[i - 1].Id)
                throw new ArgumentException($"Member '{sorted[i].Id}' is listed twice.", nameof(members));
        }

        var tokens = PlaceTokens(sorted, options.VirtualNodes, out var owners);
        var replicas = Math.Min(options.Replicas, sorted.Length);
        var zones = ZoneIndices(sorted, out var zoneCount);
        var table = new int[KeySlot.Count * replicas];
        var chosen = new int[replicas];
        var seen = new bool[sorted.Length];
        var zoneUsed = new bool[zoneCount];
        var order = new List<int>(sorted.Length);
        for (var slot = 0; slot < KeySlot.Count; slot++)
        {
            var start = LowerBound(tokens, (ulong)slot << SlotShift);
            ChooseReplicas(owners, start, replicas, zones, zoneCount, seen, zoneUsed, order, chosen);
            chosen.CopyTo(table, slot * replicas);
        }

        return new HashRing(sorted, replicas, tokens.Length, table);
    }

    /// <summary>Member indices (into <see cref="Members"/>) holding <paramref name="slot"/>, primary first.</summary>
    public ReadOnlySpan<int> ReplicasOf(int slot) => new(_table, slot * ReplicaCount, ReplicaCount);

    /// <summary>Index of the primary of <paramref name="slot"/>.</summary>
    public int PrimaryOf(int slot) => _table[slot * ReplicaCount];

    /// <summary>The member that is primary of <paramref name="slot"/>.</summary>
    public RingMember Primary(int slot) => Members[PrimaryOf(slot)];

    /// <summary>Index of the member with <paramref name="id"/>, or -1.</summary>
    public int IndexOf(string id)
    {
        int lo = 0, hi = Members.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var c = string.CompareOrdinal(Members[mid].Id, id);
            if (c == 0)
                return mid;
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid - 1;
        }

        return -1;
    }

    /// <summary>A stable 64-bit hash (FNV-1a, then the MurmurHash3 finalizer for avalanche).</summary>
    internal static ulong StableHash(ReadOnlySpan<byte> data)
    {
        var h = 14695981039346656037UL;
        foreach (var b in data)
            h = (h ^ b) * 1099511628211UL;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53UL;
        h ^= h >> 33;
        return h;
    }

    private static ulong[] PlaceTokens(RingMember[] members, int virtualNodes, out int[] owners)
    {
        var placed = new List<(ulong Token, int Owner)>();
        Span<byte> buffer = stackalloc byte[512];
        for (var m = 0; m < members.Length; m++)
        {
            var count = Math.Max(1, (int)Math.Round(virtualNodes * members[m].Weight));
            var id = Encoding.UTF8.GetBytes(members[m].Id);
            var name = id.Length + 12 <= buffer.Length ? buffer : new byte[id.Length + 12];
            id.CopyTo(name);
            name[id.Length] = (byte)'#';
            for (var t = 0; t < count; t++)
            {
                t.TryFormat(name[(id.Length + 1)..], out var digits, provider: System.Globalization.CultureInfo.InvariantCulture);
                placed.Add((StableHash(name[..(id.Length + 1 + digits)]), m));
            }
        }

        // Equal tokens (vanishingly rare) are ordered by member index, itself ordered by id: still deterministic.
        placed.Sort();
        owners = new int[placed.Count];
        var tokens = new ulong[placed.Count];
        for (var i = 0; i < placed.Count; i++)
        {
            tokens[i] = placed[i].Token;
            owners[i] = placed[i].Owner;
        }

        return tokens;
    }

    private static int[] ZoneIndices(RingMember[] members, out int zoneCount)
    {
        // Members without a zone each count as a zone of their own.
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var zones = new int[members.Length];
        zoneCount = 0;
        for (var m = 0; m < members.Length; m++)
        {
            var zone = members[m].Zone;
            if (zone is null)
                zones[m] = zoneCount++;
            else if (names.TryGetValue(zone, out var index))
                zones[m] = index;
            else
                zones[m] = names[zone] = zoneCount++;
        }

        return zones;
    }

    // Walks clockwise from token `start`, collecting distinct members in the order met; picks members of
    // unused zones first, then fills up in clockwise order. The first member met is always the primary.
    private static void ChooseReplicas(int[] owners, int start, int replicas, int[] zones, int zoneCount,
        bool[] seen, bool[] zoneUsed, List<int> order, int[] chosen)
    {
        order.Clear();
        var wantedZones = Math.Min(replicas, zoneCount);
        var zonesMet = 0;
        for (var step = 0; step < owners.Length && (order.Count < replicas || zonesMet < wantedZones); step++)
        {
            var owner = owners[(start + step) % owners.Length];
            if (seen[owner])
                continue;
            seen[owner] = true;
            order.Add(owner);
            if (!zoneUsed[zones[owner]])
            {
                zoneUsed[zones[owner]] = true;
                zonesMet++;
            }
        }

        foreach (var m in order)
        {
            seen[m] = false;
            zoneUsed[zones[m]] = false;
        }

        var n = 0;
        foreach (var m in order)
        {
            if (n < replicas && !zoneUsed[zones[m]])
            {
                zoneUsed[zones[m]] = true;
                seen[m] = true;
                chosen[n++] = m;
            }
        }

        foreach (var m in order)
        {
            if (n < replicas && !seen[m])
                chosen[n++] = m;
        }

        foreach (var m in order)
        {
            seen[m] = false;
            zoneUsed[zones[m]] = false;
        }
    }

    private static int LowerBound(ulong[] tokens, ulong point)
    {
        int lo = 0, hi = tokens.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (tokens[mid] < point)
                lo = mid + 1;
            else
                hi = mid;
        }

        return lo == tokens.Length ? 0 : lo;
    }
}

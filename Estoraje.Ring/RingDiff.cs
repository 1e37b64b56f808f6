namespace Estoraje.Ring;

/// <summary>How one slot's replica set changes between two rings (members named by id).</summary>
/// <param name="Slot">The slot.</param>
/// <param name="Gained">Members that hold the slot in the new ring and not in the old one.</param>
/// <param name="Lost">Members that held the slot in the old ring and not in the new one.</param>
/// <param name="FromPrimary">Primary in the old ring.</param>
/// <param name="ToPrimary">Primary in the new ring.</param>
public sealed record SlotChange(int Slot, IReadOnlyList<string> Gained, IReadOnlyList<string> Lost, string FromPrimary, string ToPrimary)
{
    /// <summary>Whether the slot has a new primary.</summary>
    public bool PrimaryChanged => FromPrimary != ToPrimary;
}

/// <summary>Differences between two rings, slot by slot.</summary>
public static class RingDiff
{
    /// <summary>The slots whose replica set or primary differs between <paramref name="from"/> and <paramref name="to"/>.</summary>
    public static IReadOnlyList<SlotChange> Compute(HashRing from, HashRing to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var changes = new List<SlotChange>();
        var before = new HashSet<string>(StringComparer.Ordinal);
        var after = new HashSet<string>(StringComparer.Ordinal);
        for (var slot = 0; slot < KeySlot.Count; slot++)
        {
            before.Clear();
            after.Clear();
            foreach (var m in from.ReplicasOf(slot))
                before.Add(from.Members[m].Id);
            foreach (var m in to.ReplicasOf(slot))
                after.Add(to.Members[m].Id);
            var fromPrimary = from.Primary(slot).Id;
            var toPrimary = to.Primary(slot).Id;
            if (fromPrimary == toPrimary && before.SetEquals(after))
                continue;
            changes.Add(new SlotChange(slot,
                [.. after.Where(id => !before.Contains(id)).Order(StringComparer.Ordinal)],
                [.. before.Where(id => !after.Contains(id)).Order(StringComparer.Ordinal)],
                fromPrimary, toPrimary));
        }

        return changes;
    }
}

namespace Estoraje.Storage.Collections;

/// <summary>
/// HSCAN, SSCAN and ZSCAN over a decoded collection with Redis's guarantee (an element present for the whole walk
/// is returned at least once, whatever is added or removed meanwhile): elements are visited in the order of a
/// stable 64-bit hash of their name, and the cursor is the hash to go on from. Elements sharing a hash are
/// returned together, so none is cut in two.
/// </summary>
public static class CollectionScan
{
    /// <summary>
    /// One step: adds to <paramref name="page"/> about <paramref name="count"/> elements whose hash is at least
    /// <paramref name="cursor"/>; returns the cursor of the next step, 0 when the walk is over.
    /// </summary>
    /// <param name="elements">The collection's elements.</param>
    /// <param name="nameOf">The byte string an element is known by (a field or a member).</param>
    /// <param name="cursor">0 to start, then what the previous step returned.</param>
    /// <param name="count">Elements wanted (a hint, as Redis's COUNT).</param>
    /// <param name="page">Receives the elements of this step.</param>
    public static ulong Step<T>(IEnumerable<T> elements, Func<T, byte[]> nameOf, ulong cursor, int count, List<T> page)
    {
        var ordered = new List<(ulong Hash, T Element)>();
        foreach (var element in elements)
        {
            var hash = HashOf(nameOf(element));
            if (hash >= cursor)
                ordered.Add((hash, element));
        }

        ordered.Sort(static (a, b) => a.Hash.CompareTo(b.Hash));
        var i = 0;
        while (i < ordered.Count && (i < count || ordered[i].Hash == ordered[i - 1].Hash))
            page.Add(ordered[i++].Element);
        return i < ordered.Count ? ordered[i].Hash : 0;
    }

    // Never 0 (the cursor that starts and ends a walk).
    private static ulong HashOf(byte[] name) => StableHash.Hash64(name) | 1;
}

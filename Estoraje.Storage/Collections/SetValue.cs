namespace Estoraje.Storage.Collections;

/// <summary>
/// A Redis set decoded from its stored encoding (<see cref="CollectionEncoding"/>: count, then the members).
/// SADD and SREM change the encoding without decoding it (<see cref="Add(ReadOnlySpan{byte}, IReadOnlyList{byte[]}, out int)"/>,
/// <see cref="Remove(ReadOnlySpan{byte}, IReadOnlyList{byte[]}, out int)"/>); the other commands decode it. Either way
/// a change copies the whole set: one record per key, which stays cheap while a set is small (see the README's
/// limits for the sizes measured).
/// </summary>
public sealed class SetValue
{
    private readonly HashSet<byte[]> _members;
    private readonly HashSet<byte[]>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    /// <summary>An empty set.</summary>
    public SetValue(int capacity = 0)
    {
        _members = new HashSet<byte[]>(capacity, ByteArrayComparer.Instance);
        _lookup = _members.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <summary>Members held.</summary>
    public int Count => _members.Count;

    /// <summary>The members, in no promised order.</summary>
    public IReadOnlyCollection<byte[]> Members => _members;

    /// <summary>Decodes a stored set.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a set's encoding.</exception>
    public static SetValue Decode(ReadOnlySpan<byte> encoded)
    {
        if (!CollectionEncoding.TryReadHeader(encoded, out var count, out var offset))
            throw CollectionEncoding.Corrupt("set");
        var set = new SetValue(Math.Min(count, encoded.Length));
        for (var i = 0; i < count; i++)
        {
            if (!CollectionEncoding.TryReadBytes(encoded, ref offset, out var member))
                throw CollectionEncoding.Corrupt("set");
            set._members.Add(member.ToArray());
        }

        return set;
    }

    /// <summary>
    /// Whether a stored set has <paramref name="member"/>, without decoding it (SISMEMBER): a linear walk, no
    /// allocation.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a set's encoding.</exception>
    public static bool Contains(ReadOnlySpan<byte> encoded, ReadOnlySpan<byte> member)
    {
        if (!CollectionEncoding.TryReadHeader(encoded, out var count, out var offset))
            throw CollectionEncoding.Corrupt("set");
        for (var i = 0; i < count; i++)
        {
            if (!CollectionEncoding.TryReadBytes(encoded, ref offset, out var name))
                throw CollectionEncoding.Corrupt("set");
            if (name.SequenceEqual(member))
                return true;
        }

        return false;
    }

    /// <summary>
    /// Adds members to a stored set without decoding it (SADD): one walk over the stored members (an empty span is
    /// an empty set) finds which of <paramref name="members"/> are new, and the encoding is copied with those
    /// appended. Null when none is new.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a set's encoding.</exception>
    public static byte[]? Add(ReadOnlySpan<byte> encoded, IReadOnlyList<byte[]> members, out int added)
    {
        var candidates = new HashSet<byte[]>(members.Count, ByteArrayComparer.Instance);
        var fresh = new List<byte[]>(members.Count);
        foreach (var member in members)
        {
            if (candidates.Add(member))
                fresh.Add(member);
        }

        var lookup = candidates.GetAlternateLookup<ReadOnlySpan<byte>>();
        var count = 0;
        var start = 0;
        if (!encoded.IsEmpty && !CollectionEncoding.TryReadHeader(encoded, out count, out start))
            throw CollectionEncoding.Corrupt("set");
        var offset = start;
        for (var i = 0; i < count && candidates.Count > 0; i++)
        {
            if (!CollectionEncoding.TryReadBytes(encoded, ref offset, out var name))
                throw CollectionEncoding.Corrupt("set");
            lookup.Remove(name);
        }

        fresh.RemoveAll(member => !candidates.Contains(member));
        added = fresh.Count;
        if (added == 0)
            return null;
        long size = encoded.Length - start;
        foreach (var member in fresh)
            size += CollectionEncoding.BytesSize(member.Length);
        var writer = new CollectionEncoding.Writer(count + added, size);
        writer.WriteEncoded(encoded[start..]);
        foreach (var member in fresh)
            writer.WriteBytes(member);
        return writer.ToArray();
    }

    /// <summary>
    /// Removes members from a stored set without decoding it (SREM): one walk finds them, and the encoding is
    /// copied without them. Null when none was there.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a set's encoding.</exception>
    public static byte[]? Remove(ReadOnlySpan<byte> encoded, IReadOnlyList<byte[]> members, out int removed)
    {
        if (!CollectionEncoding.TryReadHeader(encoded, out var count, out var start))
            throw CollectionEncoding.Corrupt("set");
        var targets = new HashSet<byte[]>(members, ByteArrayComparer.Instance);
        var lookup = targets.GetAlternateLookup<ReadOnlySpan<byte>>();
        var found = new List<(int Start, int End)>();
        var offset = start;
        for (var i = 0; i < count && targets.Count > 0; i++)
        {
            var at = offset;
            if (!CollectionEncoding.TryReadBytes(encoded, ref offset, out var name))
                throw CollectionEncoding.Corrupt("set");
            if (lookup.Remove(name))
                found.Add((at, offset));
        }

        removed = found.Count;
        return removed == 0 ? null : CollectionEncoding.Without(encoded, start, count, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(found));
    }

    /// <summary>Whether the set has <paramref name="member"/>.</summary>
    public bool Contains(ReadOnlySpan<byte> member) => _lookup.Contains(member);

    /// <summary>Adds a member; true when it is new.</summary>
    public bool Add(ReadOnlySpan<byte> member) => _lookup.Add(member);

    /// <summary>Removes a member; false when the set did not have it.</summary>
    public bool Remove(ReadOnlySpan<byte> member) => _lookup.Remove(member);

    /// <summary>The stored encoding.</summary>
    public byte[] Encode()
    {
        long size = 0;
        foreach (var member in _members)
            size += CollectionEncoding.BytesSize(member.Length);
        var writer = new CollectionEncoding.Writer(_members.Count, size);
        foreach (var member in _members)
            writer.WriteBytes(member);
        return writer.ToArray();
    }
}

namespace Estoraje.Storage.Collections;

/// <summary>
/// A Redis set decoded from its stored encoding (<see cref="CollectionEncoding"/>: count, then the members).
/// Commands decode, change and re-encode the whole set: one record per key, which stays cheap while a set is
/// small (see the README's limits for the sizes measured).
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

namespace Estoraje.Storage.Collections;

/// <summary>
/// A Redis hash decoded from its stored encoding (<see cref="CollectionEncoding"/>: count, then field and value
/// byte strings in turn). Commands decode, change and re-encode the whole hash: one record per key, which stays
/// cheap while a hash is small (see the README's limits for the sizes measured).
/// </summary>
public sealed class HashValue
{
    private readonly Dictionary<byte[], byte[]> _fields;
    private readonly Dictionary<byte[], byte[]>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    /// <summary>An empty hash.</summary>
    public HashValue(int capacity = 0)
    {
        _fields = new Dictionary<byte[], byte[]>(capacity, ByteArrayComparer.Instance);
        _lookup = _fields.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <summary>Fields held.</summary>
    public int Count => _fields.Count;

    /// <summary>The fields and their values, in no promised order.</summary>
    public IReadOnlyDictionary<byte[], byte[]> Fields => _fields;

    /// <summary>Decodes a stored hash.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a hash's encoding.</exception>
    public static HashValue Decode(ReadOnlySpan<byte> encoded)
    {
        if (!CollectionEncoding.TryReadHeader(encoded, out var count, out var offset))
            throw CollectionEncoding.Corrupt("hash");
        var hash = new HashValue(Math.Min(count, encoded.Length));
        for (var i = 0; i < count; i++)
        {
            if (!CollectionEncoding.TryReadBytes(encoded, ref offset, out var field) ||
                !CollectionEncoding.TryReadBytes(encoded, ref offset, out var value))
                throw CollectionEncoding.Corrupt("hash");
            hash._fields[field.ToArray()] = value.ToArray();
        }

        return hash;
    }

    /// <summary>
    /// Finds one field in a stored hash without decoding the rest (HGET, HEXISTS, HSTRLEN): a linear walk, no
    /// allocation.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a hash's encoding.</exception>
    public static bool TryFind(ReadOnlySpan<byte> encoded, ReadOnlySpan<byte> field, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (!CollectionEncoding.TryReadHeader(encoded, out var count, out var offset))
            throw CollectionEncoding.Corrupt("hash");
        for (var i = 0; i < count; i++)
        {
            if (!CollectionEncoding.TryReadBytes(encoded, ref offset, out var name) ||
                !CollectionEncoding.TryReadBytes(encoded, ref offset, out var bytes))
                throw CollectionEncoding.Corrupt("hash");
            if (name.SequenceEqual(field))
            {
                value = bytes;
                return true;
            }
        }

        return false;
    }

    /// <summary>The value of <paramref name="field"/>, if the hash has it.</summary>
    public bool TryGet(ReadOnlySpan<byte> field, out byte[] value) => _lookup.TryGetValue(field, out value!);

    /// <summary>Whether the hash has <paramref name="field"/>.</summary>
    public bool Contains(ReadOnlySpan<byte> field) => _lookup.ContainsKey(field);

    /// <summary>Sets a field; true when it is new.</summary>
    public bool Set(ReadOnlySpan<byte> field, byte[] value)
    {
        var added = !_lookup.ContainsKey(field);
        _lookup[field] = value;
        return added;
    }

    /// <summary>Removes a field; false when the hash did not have it.</summary>
    public bool Remove(ReadOnlySpan<byte> field) => _lookup.Remove(field);

    /// <summary>The stored encoding.</summary>
    public byte[] Encode()
    {
        long size = 0;
        foreach (var (field, value) in _fields)
            size += CollectionEncoding.BytesSize(field.Length) + CollectionEncoding.BytesSize(value.Length);
        var writer = new CollectionEncoding.Writer(_fields.Count, size);
        foreach (var (field, value) in _fields)
        {
            writer.WriteBytes(field);
            writer.WriteBytes(value);
        }

        return writer.ToArray();
    }
}

namespace Estoraje.Storage.Collections;

/// <summary>
/// A Redis list in its stored encoding (<see cref="CollectionEncoding"/>: count, then the elements from head to
/// tail). Commands read a list with a <see cref="Reader"/> and change it by splicing the encoding: the elements a
/// change does not touch are copied as one run of bytes, never decoded, so a push or a pop costs one copy of the
/// list (see the README's limits for the sizes measured). An empty span stands for an empty list.
/// </summary>
public static class ListValue
{
    /// <summary>Elements in a stored list.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a list's encoding.</exception>
    public static int CountOf(ReadOnlySpan<byte> encoded) => new Reader(encoded).Count;

    /// <summary>The encoding of a list holding <paramref name="elements"/>, head first.</summary>
    public static byte[] Encode(ReadOnlySpan<byte[]> elements) => Splice(default, 0, 0, elements);

    /// <summary>Every element, head first.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a list's encoding.</exception>
    public static List<byte[]> Decode(ReadOnlySpan<byte> encoded)
    {
        var reader = new Reader(encoded);
        var elements = new List<byte[]>(reader.Count);
        while (reader.TryRead(out var element))
            elements.Add(element.ToArray());
        return elements;
    }

    /// <summary>
    /// The element at <paramref name="index"/> (0 is the head; a negative index counts from the tail, -1 being the
    /// last element), as LINDEX reads it; false when the list is shorter.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a list's encoding.</exception>
    public static bool TryGet(ReadOnlySpan<byte> encoded, long index, out ReadOnlySpan<byte> element)
    {
        element = default;
        var reader = new Reader(encoded);
        if (index < 0)
            index += reader.Count;
        if (index < 0 || index >= reader.Count)
            return false;
        reader.Skip((int)index);
        return reader.TryRead(out element);
    }

    /// <summary>
    /// A new encoding: the list with <paramref name="removeCount"/> elements from <paramref name="index"/> on
    /// replaced by <paramref name="inserted"/> (a push inserts at 0 or at the count, a pop removes there). Only
    /// the elements before the end of the change are walked; the rest is copied unread.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a list's encoding.</exception>
    public static byte[] Splice(ReadOnlySpan<byte> encoded, int index, int removeCount, ReadOnlySpan<byte[]> inserted)
    {
        var reader = new Reader(encoded);
        ArgumentOutOfRangeException.ThrowIfNegative(removeCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, reader.Count - removeCount);
        var elementsStart = reader.Offset;
        // Pushing at the tail needs no walk: the insertion point is the end of the encoding.
        var cut = index == reader.Count ? encoded.Length : reader.Skip(index);
        var resume = removeCount == 0 ? cut : reader.Skip(removeCount);

        long size = cut - elementsStart + (encoded.Length - resume);
        foreach (var element in inserted)
            size += CollectionEncoding.BytesSize(element.Length);
        var writer = new CollectionEncoding.Writer(reader.Count - removeCount + inserted.Length, size);
        writer.WriteEncoded(encoded[elementsStart..cut]);
        foreach (var element in inserted)
            writer.WriteBytes(element);
        writer.WriteEncoded(encoded[resume..]);
        return writer.ToArray();
    }

    /// <summary>A new encoding holding only the <paramref name="count"/> elements from <paramref name="start"/> on (LTRIM).</summary>
    /// <exception cref="InvalidDataException">The bytes are not a list's encoding.</exception>
    public static byte[] Slice(ReadOnlySpan<byte> encoded, int start, int count)
    {
        var reader = new Reader(encoded);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start, reader.Count - count);
        var from = reader.Skip(start);
        var to = reader.Skip(count);
        var writer = new CollectionEncoding.Writer(count, to - from);
        writer.WriteEncoded(encoded[from..to]);
        return writer.ToArray();
    }

    /// <summary>
    /// A new encoding without the elements equal to <paramref name="value"/>, as LREM removes them: with a positive
    /// <paramref name="count"/> the first <paramref name="count"/> from the head, with a negative one the last
    /// |count|, with 0 all of them. <paramref name="removed"/> says how many went; with none, the result is null.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a list's encoding.</exception>
    public static byte[]? Remove(ReadOnlySpan<byte> encoded, ReadOnlySpan<byte> value, long count, out int removed)
    {
        var reader = new Reader(encoded);
        var matches = new List<(int Start, int End)>();
        while (true)
        {
            var start = reader.Offset;
            if (!reader.TryRead(out var element))
                break;
            if (element.SequenceEqual(value))
                matches.Add((start, reader.Offset));
        }

        // |long.MinValue| does not fit a long: count the magnitude unsigned.
        var wanted = count < 0 ? (ulong)-(count + 1) + 1 : (ulong)count;
        var limit = count == 0 ? matches.Count : (int)Math.Min(wanted, (ulong)matches.Count);
        var first = count < 0 ? matches.Count - limit : 0;
        removed = limit;
        if (limit == 0)
            return null;

        var elementsStart = new Reader(encoded).Offset;
        return CollectionEncoding.Without(encoded, elementsStart, reader.Count, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(matches).Slice(first, limit));
    }

    /// <summary>Reads a stored list's elements from the head, without copying them.</summary>
    public ref struct Reader
    {
        private readonly ReadOnlySpan<byte> _encoded;
        private int _offset;

        /// <summary>A reader before the first element of <paramref name="encoded"/> (empty: an empty list).</summary>
        /// <exception cref="InvalidDataException">The bytes are not a list's encoding.</exception>
        public Reader(ReadOnlySpan<byte> encoded)
        {
            _encoded = encoded;
            if (encoded.IsEmpty)
                return;
            if (!CollectionEncoding.TryReadHeader(encoded, out var count, out _offset))
                throw CollectionEncoding.Corrupt("list");
            Count = count;
        }

        /// <summary>Elements in the list.</summary>
        public int Count { get; }

        /// <summary>Index of the element the next read returns.</summary>
        public int Index { get; private set; }

        /// <summary>Where the next element starts in the encoding.</summary>
        public readonly int Offset => _offset;

        /// <summary>The next element; false past the tail.</summary>
        /// <exception cref="InvalidDataException">The encoding is cut short.</exception>
        public bool TryRead(out ReadOnlySpan<byte> element)
        {
            element = default;
            if (Index >= Count)
                return false;
            if (!CollectionEncoding.TryReadBytes(_encoded, ref _offset, out element))
                throw CollectionEncoding.Corrupt("list");
            Index++;
            return true;
        }

        /// <summary>Moves past <paramref name="elements"/> elements (at most to the tail); returns <see cref="Offset"/>.</summary>
        /// <exception cref="InvalidDataException">The encoding is cut short.</exception>
        public int Skip(int elements)
        {
            for (var i = 0; i < elements && TryRead(out _); i++)
            {
            }

            return _offset;
        }
    }
}

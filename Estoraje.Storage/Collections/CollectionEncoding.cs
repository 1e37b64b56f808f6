using System.Buffers.Binary;

namespace Estoraje.Storage.Collections;

/// <summary>
/// The byte layout shared by every collection value a store holds (one record per key, the whole collection in
/// it): a format byte (<see cref="Format"/>), an unsigned LEB128 element count, then the elements — each byte
/// string as a LEB128 length and its bytes, each score as 8 little-endian bytes of an IEEE double. The layout is
/// what the log store writes to disk and replicas exchange, so it never changes meaning: a new layout gets a new
/// format byte.
/// </summary>
public static class CollectionEncoding
{
    /// <summary>The only layout so far.</summary>
    public const byte Format = 1;

    /// <summary>Reads the header of an encoded collection; false when it is not one this code can read.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> encoded, out int count, out int offset)
    {
        count = 0;
        offset = 0;
        if (encoded.IsEmpty || encoded[0] != Format)
            return false;
        offset = 1;
        if (!TryReadLength(encoded, ref offset, out count))
            return false;
        return true;
    }

    /// <summary>Reads a length-prefixed byte string at <paramref name="offset"/> and moves past it.</summary>
    public static bool TryReadBytes(ReadOnlySpan<byte> encoded, scoped ref int offset, out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (!TryReadLength(encoded, ref offset, out var length) || length > encoded.Length - offset)
            return false;
        bytes = encoded.Slice(offset, length);
        offset += length;
        return true;
    }

    /// <summary>Reads a score at <paramref name="offset"/> and moves past it.</summary>
    public static bool TryReadScore(ReadOnlySpan<byte> encoded, scoped ref int offset, out double score)
    {
        score = 0;
        if (encoded.Length - offset < 8)
            return false;
        score = BinaryPrimitives.ReadDoubleLittleEndian(encoded[offset..]);
        offset += 8;
        return true;
    }

    /// <summary>Reads an unsigned LEB128 length that fits an <see cref="int"/>.</summary>
    public static bool TryReadLength(ReadOnlySpan<byte> encoded, scoped ref int offset, out int length)
    {
        length = 0;
        uint value = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            if (offset >= encoded.Length)
                return false;
            var b = encoded[offset++];
            value |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                if (value > int.MaxValue)
                    return false;
                length = (int)value;
                return true;
            }
        }

        return false;
    }

    /// <summary>Bytes a LEB128 length takes.</summary>
    public static int LengthSize(int length)
    {
        var size = 1;
        for (var v = (uint)length; v >= 0x80; v >>= 7)
            size++;
        return size;
    }

    /// <summary>Bytes a byte string takes with its length prefix.</summary>
    public static int BytesSize(int length) => LengthSize(length) + length;

    /// <summary>
    /// A copy of an encoding of <paramref name="count"/> byte-string elements (starting at
    /// <paramref name="elementsStart"/>) without the elements at <paramref name="removed"/>: their byte ranges, in
    /// order, one per element. The runs between them are copied as they are.
    /// </summary>
    public static byte[] Without(ReadOnlySpan<byte> encoded, int elementsStart, int count, ReadOnlySpan<(int Start, int End)> removed)
    {
        long removedBytes = 0;
        foreach (var (start, end) in removed)
            removedBytes += end - start;
        var writer = new Writer(count - removed.Length, encoded.Length - elementsStart - removedBytes);
        var kept = elementsStart;
        foreach (var (start, end) in removed)
        {
            writer.WriteEncoded(encoded[kept..start]);
            kept = end;
        }

        writer.WriteEncoded(encoded[kept..]);
        return writer.ToArray();
    }

    /// <summary>Writes an encoding in one pass into an array of the exact size.</summary>
    public ref struct Writer
    {
        private readonly byte[] _buffer;
        private int _offset;

        /// <summary>Starts an encoding of <paramref name="count"/> elements whose bytes (prefixes included) total <paramref name="elementBytes"/>.</summary>
        public Writer(int count, long elementBytes)
        {
            var size = 1 + LengthSize(count) + elementBytes;
            if (size > Array.MaxLength)
                throw new InvalidOperationException("The collection is too large to store as one value.");
            _buffer = new byte[size];
            _buffer[0] = Format;
            _offset = 1;
            WriteLength(count);
        }

        /// <summary>Appends a byte string with its length.</summary>
        public void WriteBytes(ReadOnlySpan<byte> bytes)
        {
            WriteLength(bytes.Length);
            bytes.CopyTo(_buffer.AsSpan(_offset));
            _offset += bytes.Length;
        }

        /// <summary>Appends elements already encoded (a run copied from another encoding of the same layout).</summary>
        public void WriteEncoded(ReadOnlySpan<byte> elements)
        {
            elements.CopyTo(_buffer.AsSpan(_offset));
            _offset += elements.Length;
        }

        /// <summary>Appends a score.</summary>
        public void WriteScore(double score)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(_buffer.AsSpan(_offset), score);
            _offset += 8;
        }

        /// <summary>The encoding; every byte announced must have been written.</summary>
        public readonly byte[] ToArray()
        {
            if (_offset != _buffer.Length)
                throw new InvalidOperationException($"Encoded {_offset} of {_buffer.Length} bytes.");
            return _buffer;
        }

        private void WriteLength(int length)
        {
            var v = (uint)length;
            while (v >= 0x80)
            {
                _buffer[_offset++] = (byte)(v | 0x80);
                v >>= 7;
            }

            _buffer[_offset++] = (byte)v;
        }
    }

    /// <summary>The error a command reports when a stored collection does not decode (damage the CRC missed, or a bug).</summary>
    public static InvalidDataException Corrupt(string type) => new($"The stored {type} does not decode.");
}

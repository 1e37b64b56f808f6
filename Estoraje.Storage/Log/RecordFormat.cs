using System.Buffers.Binary;

namespace Estoraje.Storage.Log;

/// <summary>Flags of a log record.</summary>
[Flags]
internal enum RecordFlags : byte
{
    None = 0,

    /// <summary>The key was deleted at this version; the record has no value.</summary>
    Tombstone = 1,

    /// <summary>FLUSHALL: every record of a lower version, whatever its key, is gone. The record has no key.</summary>
    Flush = 2,
}

/// <summary>
/// The on-disk layout of one record (little-endian):
/// <code>
/// 0  uint  CRC-32C of bytes 4..end (the rest of the header, the key and the value)
/// 4  long  version
/// 12 long  absolute expiry, Unix ms, 0 = none
/// 20 byte  type (ValueKind)
/// 21 byte  flags (RecordFlags)
/// 22 int   key length
/// 26 int   value length
/// 30       key bytes, then value bytes
/// </code>
/// The CRC covers the lengths, so a torn write that leaves a plausible header is still caught.
/// </summary>
internal static class RecordFormat
{
    public const int HeaderSize = 30;

    // Largest key or value a record may declare: anything bigger is a damaged header, not data.
    public const int MaxFieldLength = int.MaxValue - 64;

    /// <summary>Size of the record of a key and a value of the given lengths.</summary>
    public static long RecordSize(int keyLength, int valueLength) => (long)HeaderSize + keyLength + valueLength;

    /// <summary>Writes a whole record into <paramref name="destination"/>, which must be exactly its size.</summary>
    public static void Write(Span<byte> destination, long version, long expiresAt, ValueKind kind, RecordFlags flags,
        ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(destination[4..], version);
        BinaryPrimitives.WriteInt64LittleEndian(destination[12..], expiresAt);
        destination[20] = (byte)kind;
        destination[21] = (byte)flags;
        BinaryPrimitives.WriteInt32LittleEndian(destination[22..], key.Length);
        BinaryPrimitives.WriteInt32LittleEndian(destination[26..], value.Length);
        key.CopyTo(destination[HeaderSize..]);
        value.CopyTo(destination[(HeaderSize + key.Length)..]);
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Crc32C.Compute(destination[4..]));
    }

    /// <summary>
    /// Reads a header. False when its fields cannot belong to a record (unknown type or flags, negative or
    /// huge lengths): the bytes are damage or garbage, whatever the CRC would say.
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> source, out RecordHeader header)
    {
        header = new RecordHeader(
            BinaryPrimitives.ReadUInt32LittleEndian(source),
            BinaryPrimitives.ReadInt64LittleEndian(source[4..]),
            BinaryPrimitives.ReadInt64LittleEndian(source[12..]),
            (ValueKind)source[20],
            (RecordFlags)source[21],
            BinaryPrimitives.ReadInt32LittleEndian(source[22..]),
            BinaryPrimitives.ReadInt32LittleEndian(source[26..]));
        if (header.KeyLength < 0 || header.ValueLength < 0 || header.KeyLength > MaxFieldLength - header.ValueLength)
            return false;
        if ((header.Flags & ~(RecordFlags.Tombstone | RecordFlags.Flush)) != 0 || header.Version <= 0 || header.ExpiresAt < 0)
            return false;
        if ((header.Flags & (RecordFlags.Tombstone | RecordFlags.Flush)) != 0)
            return header.Kind == ValueKind.None && header.ValueLength == 0;
        return header.Kind is >= ValueKind.String and <= ValueKind.SortedSet;
    }

    /// <summary>Whether the CRC stored in a whole record matches its bytes.</summary>
    public static bool IsIntact(ReadOnlySpan<byte> record) =>
        BinaryPrimitives.ReadUInt32LittleEndian(record) == Crc32C.Compute(record[4..]);
}

/// <summary>The fixed fields of a record.</summary>
internal readonly record struct RecordHeader(uint Crc, long Version, long ExpiresAt, ValueKind Kind, RecordFlags Flags,
    int KeyLength, int ValueLength)
{
    public long Size => RecordFormat.RecordSize(KeyLength, ValueLength);

    public bool IsTombstone => (Flags & RecordFlags.Tombstone) != 0;

    public bool IsFlush => (Flags & RecordFlags.Flush) != 0;
}

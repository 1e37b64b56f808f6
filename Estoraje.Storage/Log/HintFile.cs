using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Estoraje.Storage.Log;

/// <summary>
/// A hint file lists the records of one sealed segment without their values, so that recovery reads a few
/// bytes per key instead of the whole segment (Bitcask's hint files). Layout: the magic <c>ESTHINT1</c>; per
/// record its offset in the segment (8 bytes), its header (as in the segment) and its key; then the entry
/// count (8 bytes) and the CRC-32C of everything before it. It is written to a temporary name, fsync'd, and
/// renamed, so a hint file is whole or absent; one that fails its check is ignored and the segment scanned.
/// </summary>
internal static class HintFile
{
    private const int EntryFixed = 8 + RecordFormat.HeaderSize;
    private const int TrailerSize = 8 + 4;

    private static ReadOnlySpan<byte> Magic => "ESTHINT1"u8;

    /// <summary>Parses a hint file; false when it is damaged or does not fit a segment of <paramref name="segmentLength"/> bytes.</summary>
    public static bool TryParse(byte[] file, long segmentLength, List<HintEntry> entries)
    {
        entries.Clear();
        if (file.Length < Magic.Length + TrailerSize || !file.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            return false;
        var end = file.Length - TrailerSize;
        var count = BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(end));
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(end + 8));
        if (crc != Crc32C.Compute(file.AsSpan(0, end + 8)))
            return false;

        var p = Magic.Length;
        while (p < end)
        {
            if (end - p < EntryFixed)
                return false;
            var offset = BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(p));
            if (!RecordFormat.TryReadHeader(file.AsSpan(p + 8, RecordFormat.HeaderSize), out var header) ||
                header.KeyLength > end - p - EntryFixed || offset < 0 || offset + header.Size > segmentLength)
            {
                return false;
            }

            entries.Add(new HintEntry(offset, header, p + EntryFixed));
            p += EntryFixed + header.KeyLength;
        }

        return entries.Count == count;
    }

    /// <summary>
    /// Writes a hint file under a temporary name; <see cref="Commit"/> makes it visible. Entries gather in a buffer,
    /// checksummed and written a buffer at a time: the log writer adds one per record it appends, under its lock.
    /// </summary>
    internal sealed class Writer : IDisposable
    {
        private const int BufferSize = 1 << 16;

        private readonly string _path;
        private readonly string _temporary;
        private readonly SafeFileHandle _file;
        private readonly byte[] _buffer = new byte[BufferSize];
        private int _buffered;
        private long _written;
        private uint _crc = ~0u;
        private long _count;
        private bool _done;

        public Writer(string path)
        {
            _path = path;
            _temporary = path + ".tmp";
            _file = File.OpenHandle(_temporary, FileMode.Create, FileAccess.Write, FileShare.None);
            Magic.CopyTo(_buffer);
            _buffered = Magic.Length;
        }

        /// <summary>
        /// A writer of the hint file of segment <paramref name="segmentId"/> in <paramref name="directory"/>, or null
        /// when the file cannot be created (a hint is only a shortcut: the segment goes without one).
        /// </summary>
        public static Writer? TryCreate(string directory, int segmentId)
        {
            try
            {
                return new Writer(Path.Combine(directory, Segment.HintName(segmentId)));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }

        /// <summary>Adds the record at <paramref name="offset"/>; <paramref name="headerAndKey"/> is the start of the record.</summary>
        public void Add(long offset, ReadOnlySpan<byte> headerAndKey)
        {
            var size = 8 + headerAndKey.Length;
            if (size > BufferSize - _buffered)
                Flush();
            if (size > BufferSize)
            {
                // A key of more than the buffer: written as it is.
                Span<byte> position = stackalloc byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(position, offset);
                Write(position);
                Write(headerAndKey);
            }
            else
            {
                BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(_buffered), offset);
                headerAndKey.CopyTo(_buffer.AsSpan(_buffered + 8));
                _buffered += size;
            }

            _count++;
        }

        public void Commit()
        {
            Flush();
            Span<byte> trailer = stackalloc byte[TrailerSize];
            BinaryPrimitives.WriteInt64LittleEndian(trailer, _count);
            _crc = Crc32C.Append(_crc, trailer[..8]);
            BinaryPrimitives.WriteUInt32LittleEndian(trailer[8..], ~_crc);
            RandomAccess.Write(_file, trailer, _written);
            DataSync.Flush(_file);
            _file.Dispose();
            File.Move(_temporary, _path, overwrite: true);
            _done = true;
        }

        public void Dispose()
        {
            if (_done)
                return;
            _file.Dispose();
            File.Delete(_temporary);
            _done = true;
        }

        private void Flush()
        {
            Write(_buffer.AsSpan(0, _buffered));
            _buffered = 0;
        }

        private void Write(ReadOnlySpan<byte> bytes)
        {
            _crc = Crc32C.Append(_crc, bytes);
            RandomAccess.Write(_file, bytes, _written);
            _written += bytes.Length;
        }
    }
}

/// <summary>One record listed by a hint file: its offset, header, and where its key starts in the hint file.</summary>
internal readonly record struct HintEntry(long Offset, RecordHeader Header, int KeyStart);

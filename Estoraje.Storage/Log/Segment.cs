using Microsoft.Win32.SafeHandles;

namespace Estoraje.Storage.Log;

/// <summary>
/// One segment file. Records are only ever appended to the active segment; a sealed one never changes until
/// compaction deletes it. Reads go straight to the file with positional reads on the one open handle.
/// </summary>
internal sealed class Segment : IDisposable
{
    private long _writtenLength;
    private long _deadBytes;
    private long _minVersion = long.MaxValue;
    private bool _holdsUnlisted;

    public Segment(int id, string path, SafeFileHandle handle, long length)
    {
        Id = id;
        Path = path;
        Handle = handle;
        Length = length;
        _writtenLength = length;
    }

    public int Id { get; }

    public string Path { get; }

    public SafeFileHandle Handle { get; }

    /// <summary>Bytes appended, including those still in the writer's buffer (written under the writer's lock).</summary>
    public long Length { get; set; }

    /// <summary>Bytes already in the file: a read below this needs no flush of the writer's buffer.</summary>
    public long WrittenLength
    {
        get => Volatile.Read(ref _writtenLength);
        set => Volatile.Write(ref _writtenLength, value);
    }

    /// <summary>Whether the segment has a hint file (or has been found not to deserve one: damaged).</summary>
    public bool HasHint { get; set; }

    /// <summary>Bytes of records that a newer record (or a purge) has made useless: what compaction reclaims.</summary>
    public long DeadBytes => Volatile.Read(ref _deadBytes);

    public void AddDead(long bytes) => Interlocked.Add(ref _deadBytes, bytes);

    /// <summary>Bytes of records still live: the length less the dead bytes.</summary>
    public long LiveBytes => Math.Max(0, Length - DeadBytes);

    /// <summary>
    /// Whether the segment may hold a record that no key directory entry points at but that compaction must keep:
    /// a FLUSHALL marker, the tombstone of a key purged from the directory, a copy of either. Compaction takes what
    /// to copy out of a segment without one from the directory alone: everything else in it is superseded.
    /// </summary>
    public bool HoldsUnlisted => Volatile.Read(ref _holdsUnlisted);

    public void MarkUnlisted() => Volatile.Write(ref _holdsUnlisted, true);

    /// <summary>
    /// Lowest version of any record in the segment (dead ones included). Compaction may drop a record of a key
    /// the directory no longer knows only when no other segment can hold an older record of that key.
    /// </summary>
    public long MinVersion => Volatile.Read(ref _minVersion);

    public void NoteVersion(long version)
    {
        while (true)
        {
            var current = Volatile.Read(ref _minVersion);
            if (version >= current || Interlocked.CompareExchange(ref _minVersion, version, current) == current)
                return;
        }
    }

    public static string FileName(int id) => $"{id:D10}.seg";

    public static string HintName(int id) => $"{id:D10}.hint";

    /// <summary>Segment id of a file name, or -1 when the name is not a segment's.</summary>
    public static int ParseId(string fileName, string extension)
    {
        if (!fileName.EndsWith(extension, StringComparison.Ordinal) || fileName.Length != 10 + extension.Length)
            return -1;
        return int.TryParse(fileName.AsSpan(0, 10), System.Globalization.NumberStyles.None, null, out var id) ? id : -1;
    }

    /// <summary>Reads exactly <paramref name="destination"/>'s length at <paramref name="offset"/>; false past the end.</summary>
    public bool TryRead(long offset, Span<byte> destination)
    {
        while (destination.Length > 0)
        {
            var n = RandomAccess.Read(Handle, destination, offset);
            if (n <= 0)
                return false;
            destination = destination[n..];
            offset += n;
        }

        return true;
    }

    public void Dispose() => Handle.Dispose();
}

using System.Diagnostics;

namespace Estoraje.Storage.Log;

public sealed partial class LogStore
{
    private const string LockFileName = "LOCK";

    // Segments being loaded, before the writer exists.
    private Segment?[]? _loading;
    private long _flushVersion;

    /// <summary>
    /// Loads the key directory from the segment files: every intact record is applied (the highest version of
    /// each key wins, whatever the file order). A damaged record at the end of the last segment is a write
    /// torn by a crash: the file is cut before it and the record never applied. Damage anywhere else is
    /// skipped up to the next intact record and reported. Holds every shard lock while it runs.
    /// </summary>
    public void Recover()
    {
        if (IsOpen)
            throw new InvalidOperationException("The log store is already open.");
        var started = Stopwatch.GetTimestamp();
        var directory = _options.Directory;
        Directory.CreateDirectory(directory);
        try
        {
            // FileShare.None takes an exclusive lock: two processes appending to one log would corrupt it.
            _lockFile = new FileStream(Path.Combine(directory, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new IOException($"The data directory '{directory}' is in use by another process.", ex);
        }

        var ids = new List<int>();
        foreach (var path in Directory.EnumerateFiles(directory, "*.seg"))
        {
            var id = Segment.ParseId(Path.GetFileName(path), ".seg");
            if (id >= 0)
                ids.Add(id);
        }

        ids.Sort();
        RemoveStrayHints(directory, ids);
        // A spare segment file being zero-filled when the process stopped (LogWriter).
        File.Delete(Path.Combine(directory, LogWriter.SpareName));
        LoadFloors();
        var report = new RecoveryReport();
        using (Lock(ulong.MaxValue))
        {
            var segments = new Segment?[ids.Count == 0 ? 1 : ids[^1] + 1];
            _loading = segments;
            Segment? last = null;
            try
            {
                for (var n = 0; n < ids.Count; n++)
                {
                    var id = ids[n];
                    var isLast = n == ids.Count - 1;
                    var path = Path.Combine(directory, Segment.FileName(id));
                    var handle = File.OpenHandle(path, FileMode.Open, isLast ? FileAccess.ReadWrite : FileAccess.Read, FileShare.Read);
                    var segment = new Segment(id, path, handle, RandomAccess.GetLength(handle));
                    segments[id] = segment;
                    // A segment with a hint file is sealed for good (a compaction output may have the highest
                    // id): appending to it would make its hint lie, so a new active segment follows it.
                    var hinted = isLast && File.Exists(Path.Combine(directory, Segment.HintName(id)));
                    if ((isLast && !hinted) || !TryLoadHint(segment, report))
                        Load(segment, isLast && !hinted, report);
                    last = hinted ? null : segment;
                }

                if (last is null)
                {
                    var id = ids.Count == 0 ? 0 : ids[^1] + 1;
                    var path = Path.Combine(directory, Segment.FileName(id));
                    var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
                    last = new Segment(id, path, handle, 0);
                    if (_options.Fsync != FsyncPolicy.No)
                        DirectorySync.Flush(directory);
                    if (id >= segments.Length)
                        Array.Resize(ref segments, id + 1);
                    segments[id] = last;
                }

                Volatile.Write(ref _writer, new LogWriter(directory, _options.SegmentSize, _options.Fsync, segments, last));
            }
            catch
            {
                foreach (var s in segments)
                    s?.Dispose();
                throw;
            }
            finally
            {
                _loading = null;
            }
        }

        report.Segments = ids.Count;
        report.Elapsed = Stopwatch.GetElapsedTime(started);
        Recovery = report;
    }

    // Hint files of segments that are gone (a crash between deleting a segment and its hint) and temporary
    // hint files of interrupted writes: a later segment with the same id must not inherit them.
    private static void RemoveStrayHints(string directory, List<int> segmentIds)
    {
        foreach (var path in Directory.EnumerateFiles(directory, "*.hint*"))
        {
            var name = Path.GetFileName(path);
            var id = Segment.ParseId(name, ".hint");
            if (name.EndsWith(".tmp", StringComparison.Ordinal) || (id >= 0 && segmentIds.BinarySearch(id) < 0))
                File.Delete(path);
        }
    }

    private Segment? SegmentOf(int id)
    {
        if (_writer is { } writer)
            return writer.Get(id);
        var loading = _loading;
        return loading is not null && (uint)id < (uint)loading.Length ? loading[id] : null;
    }

    // Loads a sealed segment from its hint file; false when there is none or it is damaged (then scan it).
    private bool TryLoadHint(Segment segment, RecoveryReport report)
    {
        var path = Path.Combine(_options.Directory, Segment.HintName(segment.Id));
        if (!File.Exists(path))
        {
            report.MissingHints.Add(segment.Id);
            return false;
        }

        var bytes = File.ReadAllBytes(path);
        var entries = new List<HintEntry>();
        if (!HintFile.TryParse(bytes, segment.Length, entries))
        {
            report.DamagedHints.Add(segment.Id);
            _options.Log?.Invoke(StoreEvent.Damage, $"Segment {segment.Id}: hint file damaged; the segment is scanned instead.");
            return false;
        }

        if (entries.Count >= ParallelLoadRecords && LoadWorkers > 1 && !entries.Exists(entry => entry.Header.IsFlush))
        {
            LoadInParallel(segment, entries, bytes);
        }
        else
        {
            foreach (var entry in entries)
                Load(segment, (int)entry.Offset, entry.Header, bytes.AsSpan(entry.KeyStart, entry.Header.KeyLength));
        }

        report.Records += entries.Count;
        report.HintsUsed++;
        segment.HasHint = true;
        return true;
    }

    // A hint file of fewer records is loaded on the recovering thread alone.
    private const int ParallelLoadRecords = 4096;

    private int LoadWorkers => _options.LoadThreads > 0 ? _options.LoadThreads : Math.Min(Environment.ProcessorCount, 8);

    // The records of a sealed segment, from its hint file, on every core (a restart waits for little else). Each
    // worker applies the records of its own range of shards, in file order, so that no two threads touch one table or
    // one slot's counters, and adds what they tallied for the store-wide counters once. Not with a FLUSHALL marker
    // among them: a marker drops older records of every shard at its place in the file. The recovering thread holds
    // every shard's lock throughout; the workers run while it waits for them.
    private void LoadInParallel(Segment segment, List<HintEntry> entries, byte[] bytes)
    {
        var workers = LoadWorkers;
        var slots = new ushort[entries.Count];
        Parallel.For(0, workers, w =>
        {
            var end = (int)((long)entries.Count * (w + 1) / workers);
            for (var i = (int)((long)entries.Count * w / workers); i < end; i++)
                slots[i] = (ushort)KeySlots.Of(bytes.AsSpan(entries[i].KeyStart, entries[i].Header.KeyLength));
        });

        var now = Now;
        var flushVersion = _flushVersion;
        var tallies = new LoadTally[workers];
        Parallel.For(0, workers, w =>
        {
            var tally = default(LoadTally);
            for (var i = 0; i < entries.Count; i++)
            {
                var shard = slots[i] >> SlotShift;
                if (shard * workers / ShardCount != w)
                    continue;
                var (offset, header, keyStart) = entries[i];
                tally.Note(header.Version);
                if (header.Version < flushVersion)
                {
                    tally.DeadBytes += header.Size;
                    continue;
                }

                var key = bytes.AsSpan(keyStart, header.KeyLength);
                LoadRecord(segment, (int)offset, header, key, shard, slots[i], Hash(key), now, ref tally);
            }

            tallies[w] = tally;
        });

        foreach (var tally in tallies)
            Add(segment, tally);
    }

    private void Load(Segment segment, bool isLast, RecoveryReport report)
    {
        var length = segment.Length;
        var scanner = new SegmentScanner(segment, length);
        // A sealed segment read without a hint gets one for next time, unless it is damaged: then it is
        // scanned (and its damage reported) at every start until compaction rewrites it.
        var hint = isLast ? null : HintFile.Writer.TryCreate(_options.Directory, segment.Id);
        var damaged = false;
        try
        {
            long position = 0;
            while (position < length)
            {
                if (scanner.TryRecord(position, out var header, out var record))
                {
                    Load(segment, (int)position, header, record.Slice(RecordFormat.HeaderSize, header.KeyLength));
                    hint?.Add(position, record[..(RecordFormat.HeaderSize + header.KeyLength)]);
                    report.Records++;
                    position += header.Size;
                    continue;
                }

                damaged = true;
                position = SkipDamage(segment, isLast, report, scanner, position, length);
            }

            if (!damaged)
                hint?.Commit();
            segment.HasHint = hint is not null;
        }
        catch (IOException ex) when (hint is not null)
        {
            // A hint is only an optimisation: failing to write one (disk full, read-only) is not fatal.
            _options.Log?.Invoke(StoreEvent.Damage, $"Segment {segment.Id}: cannot write its hint file ({ex.Message}).");
        }
        finally
        {
            hint?.Dispose();
        }
    }

    // Steps over a damaged range; returns where reading goes on (the file length when it ends the segment).
    private long SkipDamage(Segment segment, bool isLast, RecoveryReport report, SegmentScanner scanner, long position, long length)
    {
        // Under appendfsync always the active segment's file is zero-filled ahead of its records (LogWriter): zeros
        // from here to the end are room never written, not damage. A record cannot start with zeros (its version).
        var written = isLast ? scanner.EndOfNonZero() : length;
        if (isLast && written <= position)
        {
            RandomAccess.SetLength(segment.Handle, position);
            segment.Length = position;
            segment.WrittenLength = position;
            _options.Log?.Invoke(StoreEvent.Information, $"Segment {segment.Id}: {length - position} bytes of zeros after its last record cut.");
            return length;
        }

        var next = scanner.FindNext(position + 1, written);
        if (isLast && next == length)
        {
            // A write cut short by a crash (or garbage after it): it was never acknowledged as durable.
            RandomAccess.SetLength(segment.Handle, position);
            segment.Length = position;
            segment.WrittenLength = position;
            report.Damaged.Add(new DamagedRange(segment.Id, position, length - position, Truncated: true));
            _options.Log?.Invoke(StoreEvent.Damage, $"Segment {segment.Id}: torn or damaged tail of {length - position} bytes at offset {position} truncated.");
            return length;
        }

        report.Damaged.Add(new DamagedRange(segment.Id, position, next - position, Truncated: false));
        _options.Log?.Invoke(StoreEvent.Damage, $"Segment {segment.Id}: {next - position} damaged bytes at offset {position} skipped.");
        segment.AddDead(next - position);
        return next;
    }

    private void Load(Segment segment, int offset, RecordHeader header, ReadOnlySpan<byte> key)
    {
        segment.NoteVersion(header.Version);
        if (header.IsFlush)
        {
            segment.MarkUnlisted();
            _clock.Observe(header.Version);
            if (header.Version > _flushVersion)
            {
                _flushVersion = header.Version;
                DropOlderThan(header.Version);
            }

            return;
        }

        if (header.Version < _flushVersion)
        {
            segment.AddDead(header.Size);
            return;
        }

        _clock.Observe(header.Version);
        var (shard, slot, hash) = Locate(key);
        var tally = default(LoadTally);
        LoadRecord(segment, offset, header, key, shard, slot, hash, Now, ref tally);
        Add(segment, tally);
    }

    // Applies one record to its shard's table, unless an entry of the key holds a higher version. Touches only that
    // shard's table and its slots' counters and digests; what it adds to the store-wide counters goes to the tally.
    private void LoadRecord(Segment segment, int offset, RecordHeader header, ReadOnlySpan<byte> key, int shard, int slot, int hash,
        long now, ref LoadTally tally)
    {
        if (UnderFloor(slot, segment.Id))
        {
            tally.DeadBytes += header.Size;
            return;
        }

        var table = _tables[shard];
        var i = table.Find(key, hash);
        if (i >= 0 && table[i].Version >= header.Version)
        {
            tally.DeadBytes += header.Size;
            return;
        }

        var bytes = KeyDirectory.BytesFor(key.Length);
        if (i < 0)
        {
            i = table.Add(key, hash, (ushort)slot);
            tally.LiveKeyBytes += bytes;
            _slotCounts[slot]++;
        }
        else
        {
            Forget(table, i);
        }

        ref var e = ref table[i];
        var dead = header.IsTombstone || IsExpired(header.ExpiresAt, now);
        if (dead && !e.Tombstone)
        {
            table.MarkTombstone(i);
            _slotCounts[slot]--;
            tally.LiveKeyBytes -= bytes;
            tally.TombstoneBytes += bytes;
        }
        else if (!dead && e.Tombstone)
        {
            table.Revive(i);
            _slotCounts[slot]++;
            tally.TombstoneBytes -= bytes;
            tally.LiveKeyBytes += bytes;
        }

        if (dead)
        {
            e.ExpiresAt = header.ExpiresAt;
        }
        else
        {
            e.Kind = header.Kind;
            table.SetExpiry(i, header.ExpiresAt);
        }

        e.Touch(Seconds(now));
        SetLocation(table, i, segment.Id, offset, header.ValueLength, header.Version);
        _slotDigests[slot] += StableHash.KeyVersion(key, header.Version);
    }

    // Adds what applying records tallied to the segment and the store.
    private void Add(Segment segment, in LoadTally tally)
    {
        if (tally.DeadBytes != 0)
            segment.AddDead(tally.DeadBytes);
        if (tally.LiveKeyBytes != 0)
            Interlocked.Add(ref _liveKeyBytes, tally.LiveKeyBytes);
        if (tally.TombstoneBytes != 0)
            Interlocked.Add(ref _tombstoneBytes, tally.TombstoneBytes);
        if (tally.MaxVersion != 0)
        {
            segment.NoteVersion(tally.MinVersion);
            _clock.Observe(tally.MaxVersion);
        }
    }

    /// <summary>What applying records adds to the store-wide counters, summed by one thread and added once.</summary>
    private struct LoadTally
    {
        public long DeadBytes;
        public long LiveKeyBytes;
        public long TombstoneBytes;

        // Lowest and highest version seen (0: none noted; the caller noted them itself).
        public long MinVersion;
        public long MaxVersion;

        public void Note(long version)
        {
            MinVersion = MaxVersion == 0 ? version : Math.Min(MinVersion, version);
            MaxVersion = Math.Max(MaxVersion, version);
        }
    }

    // A FLUSHALL marker: every record older than it is gone, whichever segment it was read from.
    private void DropOlderThan(long version)
    {
        var keys = new List<byte[]>();
        for (var shard = 0; shard < ShardCount; shard++)
        {
            var table = _tables[shard];
            keys.Clear();
            for (var i = 0; i < table.EntrySlots; i++)
            {
                if (table.IsUsed(i) && table[i].Version < version)
                    keys.Add(table.KeyArray(i));
            }

            foreach (var key in keys)
            {
                var i = table.Find(key, Hash(key));
                Forget(table, i);
                ref var e = ref table[i];
                if (e.Tombstone)
                {
                    Interlocked.Add(ref _tombstoneBytes, -KeyDirectory.BytesFor(key.Length));
                }
                else
                {
                    _slotCounts[e.Slot]--;
                    Interlocked.Add(ref _liveKeyBytes, -KeyDirectory.BytesFor(key.Length));
                }

                table.RemoveAt(i);
            }
        }
    }
}

/// <summary>What recovery found.</summary>
public sealed class RecoveryReport
{
    /// <summary>Segment files read.</summary>
    public int Segments { get; internal set; }

    /// <summary>Intact records read.</summary>
    public long Records { get; internal set; }

    /// <summary>Damaged byte ranges: skipped inside a segment, or cut off the end of the last one.</summary>
    public List<DamagedRange> Damaged { get; } = [];

    /// <summary>Sealed segments loaded from their hint files.</summary>
    public int HintsUsed { get; internal set; }

    /// <summary>Sealed segments that had no hint file (deleted, or sealed since the last start): scanned instead.</summary>
    public List<int> MissingHints { get; } = [];

    /// <summary>Sealed segments whose hint file failed its check: scanned instead.</summary>
    public List<int> DamagedHints { get; } = [];

    /// <summary>Time recovery took.</summary>
    public TimeSpan Elapsed { get; internal set; }
}

/// <summary>A damaged range of a segment file found by recovery.</summary>
/// <param name="Segment">Segment id.</param>
/// <param name="Offset">Where the damage starts.</param>
/// <param name="Length">Bytes skipped or cut off.</param>
/// <param name="Truncated">True for a torn tail cut off the last segment; false for damage skipped inside a segment.</param>
public readonly record struct DamagedRange(int Segment, long Offset, long Length, bool Truncated);

/// <summary>Reads a segment file front to back through a large buffer, checking each record's CRC.</summary>
internal sealed class SegmentScanner
{
    private const int ChunkSize = 1 << 20;

    private readonly Segment _segment;
    private readonly long _length;
    private byte[] _buffer = new byte[ChunkSize];
    private long _bufferStart;
    private int _bufferCount;
    private long _endOfNonZero = -1;

    public SegmentScanner(Segment segment, long length)
    {
        _segment = segment;
        _length = length;
    }

    public Segment Segment => _segment;

    /// <summary>Whether an intact record starts at <paramref name="offset"/>.</summary>
    public bool TryRecord(long offset, out RecordHeader header, out ReadOnlySpan<byte> record)
    {
        record = default;
        header = default;
        if (!TryLoad(offset, RecordFormat.HeaderSize, out var head) || !RecordFormat.TryReadHeader(head, out header))
            return false;
        return TryLoad(offset, (int)header.Size, out record) && RecordFormat.IsIntact(record);
    }

    /// <summary>The first intact record at or after <paramref name="from"/> that starts before <paramref name="before"/>, else the length.</summary>
    public long FindNext(long from, long before = long.MaxValue)
    {
        for (var p = from; p < before && p + RecordFormat.HeaderSize <= _length; p++)
        {
            if (TryRecord(p, out _, out _))
                return p;
        }

        return _length;
    }

    /// <summary>Where the segment's trailing zeros start (its length when it ends in a nonzero byte).</summary>
    public long EndOfNonZero() => _endOfNonZero >= 0 ? _endOfNonZero : _endOfNonZero = FindEndOfNonZero();

    // Read back from the end once per scan: every damaged range of the last segment asks.
    private long FindEndOfNonZero()
    {
        var chunk = new byte[ChunkSize];
        for (var end = _length; end > 0;)
        {
            var start = Math.Max(0, end - ChunkSize);
            var span = chunk.AsSpan(0, (int)(end - start));
            if (!_segment.TryRead(start, span))
                return _length;
            var last = span.LastIndexOfAnyExcept((byte)0);
            if (last >= 0)
                return start + last + 1;
            end = start;
        }

        return 0;
    }

    private bool TryLoad(long offset, int count, out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (offset + count > _length)
            return false;
        if (offset < _bufferStart || offset + count > _bufferStart + _bufferCount)
        {
            if (count > _buffer.Length)
                _buffer = new byte[count];
            var n = (int)Math.Min(_buffer.Length, _length - offset);
            if (!_segment.TryRead(offset, _buffer.AsSpan(0, n)))
                return false;
            _bufferStart = offset;
            _bufferCount = n;
        }

        bytes = _buffer.AsSpan((int)(offset - _bufferStart), count);
        return true;
    }
}

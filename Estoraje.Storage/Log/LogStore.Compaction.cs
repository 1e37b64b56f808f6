using System.Buffers;
using System.Diagnostics;

namespace Estoraje.Storage.Log;

public sealed partial class LogStore
{
    private readonly Lock _compactionLock = new();
    private volatile bool _cancelCompaction;
    private int _compacting;
    private long _compactions;

    /// <summary>Whether a compaction is running.</summary>
    public bool IsCompacting => Volatile.Read(ref _compacting) != 0;

    /// <summary>Compactions completed since open.</summary>
    public long Compactions => Interlocked.Read(ref _compactions);

    /// <summary>The last compaction's outcome; null before the first.</summary>
    public CompactionResult? LastCompaction { get; private set; }

    /// <summary>
    /// Rewrites the live records of every sealed segment whose dead bytes reach <paramref name="minDeadRatio"/>
    /// of its size into new segments (with hint files), repoints the key directory at the copies, and deletes
    /// the old files. Reads and writes go on meanwhile: a key's shard lock is held only to check or repoint
    /// that one key, and a key written during the copy keeps its newer record. Tombstones the directory still
    /// holds are copied (their grace period is not over); a record of a key the directory no longer knows is
    /// dropped only when no other segment can hold an older record of that key, which it would otherwise
    /// resurrect at the next start. Runs on the caller's thread; one compaction at a time.
    /// </summary>
    /// <param name="minDeadRatio">Dead fraction from which a sealed segment is rewritten (0: every sealed segment).</param>
    /// <param name="sealActive">Seal the active segment first, so that it is rewritten too (BGREWRITEAOF).</param>
    public CompactionResult Compact(double minDeadRatio, bool sealActive = false)
    {
        lock (_compactionLock)
        {
            Interlocked.Exchange(ref _compacting, 1);
            try
            {
                var result = CompactLocked(minDeadRatio, sealActive);
                LastCompaction = result;
                if (result.Segments > 0)
                    Interlocked.Increment(ref _compactions);
                return result;
            }
            finally
            {
                Interlocked.Exchange(ref _compacting, 0);
            }
        }
    }

    /// <summary>
    /// Writes the hint file of every sealed segment that has none (those sealed since the store opened), so
    /// that the next start reads a few bytes per key instead of whole segments. Returns how many it wrote.
    /// </summary>
    public int WriteMissingHints()
    {
        lock (_compactionLock)
        {
            var writer = Writer;
            var (segments, activeId) = SealedSnapshot(writer);
            var written = 0;
            foreach (var segment in segments)
            {
                if (segment.Id >= activeId || segment.HasHint || _cancelCompaction)
                    continue;
                try
                {
                    if (WriteHint(segment))
                        written++;
                }
                catch (ObjectDisposedException)
                {
                    // FLUSHALL deleted it meanwhile.
                }

                // A damaged segment gets no hint (its damage is reported at every start until it is rewritten).
                segment.HasHint = true;
            }

            return written;
        }
    }

    // The segments, and the active one's id read after them: every segment of the list with a lower id is sealed.
    // (Read the other way round, a roll between the two reads would put the new active segment, empty, in the list
    // as if it were sealed: compaction would take it, dead ratio 1, and delete it under the writers.) Segments a
    // compaction wrote since the last roll have higher ids than the active one and wait for the next roll.
    private static (List<Segment> Segments, int ActiveId) SealedSnapshot(LogWriter writer)
    {
        var segments = writer.Segments();
        return (segments, writer.ActiveId);
    }

    private bool WriteHint(Segment segment)
    {
        using var hint = new HintFile.Writer(Path.Combine(_options.Directory, Segment.HintName(segment.Id)));
        var scanner = new SegmentScanner(segment, segment.Length);
        long position = 0;
        while (position < segment.Length)
        {
            if (!scanner.TryRecord(position, out var header, out var record))
                return false;
            hint.Add(position, record[..(RecordFormat.HeaderSize + header.KeyLength)]);
            position += header.Size;
        }

        hint.Commit();
        return true;
    }

    private CompactionResult CompactLocked(double minDeadRatio, bool sealActive)
    {
        var started = Stopwatch.GetTimestamp();
        var writer = Writer;
        if (sealActive && writer.Get(writer.ActiveId) is { Length: > 0 })
            writer.Roll();

        var (all, activeId) = SealedSnapshot(writer);
        var inputs = new List<Segment>();
        var minOther = long.MaxValue;
        foreach (var s in all)
        {
            var ratio = s.Length == 0 ? 1.0 : (double)s.DeadBytes / s.Length;
            if (s.Id < activeId && ratio >= minDeadRatio)
                inputs.Add(s);
            else
                minOther = Math.Min(minOther, s.MinVersion);
        }

        if (inputs.Count == 0)
            return new CompactionResult(0, 0, 0, Stopwatch.GetElapsedTime(started));

        long bytesBefore = 0;
        foreach (var s in inputs)
            bytesBefore += s.Length;

        var listed = ListedInputs(inputs);
        var drops = Interlocked.Read(ref _slotDrops);
        using var output = new CompactionOutput(this, writer);
        try
        {
            var copied = CopyListed(listed, output);
            foreach (var input in inputs)
            {
                if (!copied)
                    break;
                // A listed segment is read through only if a purge made it hold an unlisted record during the
                // walk, and then only for the records to keep: its listed ones are copied.
                var wasListed = listed.Contains(input);
                if (!wasListed || input.HoldsUnlisted)
                    copied = CopyLive(input, output, minOther, keepOnly: wasListed);
            }

            // Every output segment is made by now. A slot dropped meanwhile: copies of its records in one made after
            // the drop's roll lie above its floor and would count again at the next start. Unless no drop started, give up.
            if (!copied || Interlocked.Read(ref _slotDrops) != drops)
            {
                output.Abandon();
                return new CompactionResult(0, 0, 0, Stopwatch.GetElapsedTime(started));
            }

            // The copies are on disk, with their hint files, before any key points at them.
            output.Finish();
            if (_options.Fsync != FsyncPolicy.No)
                DirectorySync.Flush(_options.Directory);
        }
        catch (ObjectDisposedException)
        {
            // FLUSHALL deleted the segments being read or written: there is nothing left worth copying.
            output.Abandon();
            return new CompactionResult(0, 0, 0, Stopwatch.GetElapsedTime(started));
        }
        catch
        {
            output.Abandon();
            throw;
        }

        output.Swap();
        foreach (var input in inputs)
            writer.Delete(input);

        var bytesAfter = output.BytesWritten;
        var result = new CompactionResult(inputs.Count, bytesBefore, bytesAfter, Stopwatch.GetElapsedTime(started)) { Listed = listed.Count };
        _options.Log?.Invoke(StoreEvent.Information,
            $"Compacted {inputs.Count} segments ({listed.Count} from the key directory): {bytesBefore} bytes to {bytesAfter} in {result.Elapsed.TotalMilliseconds:F0} ms.");
        return result;
    }

    // The inputs whose records to copy are best found from the key directory (see CopyListed): those that hold no
    // unlisted record, when walking the directory costs less than reading them through. Either way costs a pass
    // over the live records; reading a segment through also costs its garbage, a walk every directory entry
    // (the listed records are copied in batches of ListedBatchBytes of them, one walk each).
    private List<Segment> ListedInputs(List<Segment> inputs)
    {
        var source = _options.CompactionSource;
        var listed = new List<Segment>();
        if (source == CompactionSource.Segments)
            return listed;
        long bytes = 0, live = 0;
        foreach (var s in inputs)
        {
            if (s.HoldsUnlisted)
                continue;
            listed.Add(s);
            bytes += s.Length;
            live += s.LiveBytes;
        }

        var walks = 1 + live / ListedBatchBytes;
        var entries = Count + TombstoneCount;
        if (source == CompactionSource.Cheapest && walks * entries * WalkBytesPerEntry > bytes)
            listed.Clear();
        return listed;
    }

    // Reading a segment through costs about as much as walking one directory entry per this many bytes (measured:
    // docs/benchmarks.md, "directory-driven compaction").
    internal const int WalkBytesPerEntry = 16;

    // Live bytes of the records copied after one walk: the walk lists them (16 bytes each) before they are copied.
    private const long ListedBatchBytes = 256L * 1024 * 1024;

    // Buckets walked under one hold of a shard's lock.
    private const int BucketsPerHold = 64;

    /// <summary>Tests: runs after a compaction's walk of the directory, before it copies what it listed.</summary>
    internal Action? AfterListing { get; set; }

    /// <summary>
    /// Copies the records that the key directory points at in <paramref name="inputs"/>, in file order: all that
    /// segments holding no unlisted record (<see cref="Segment.HoldsUnlisted"/>) hold worth keeping, found at a
    /// cost in proportion to the directory and the live records rather than to the garbage. The walk holds each
    /// shard's lock for a few buckets at a time; it finds every entry that points into the inputs throughout
    /// (SCAN's guarantee), and no entry starts pointing into them meanwhile (writes go to the active segment, and
    /// compactions run one at a time). An entry rewritten after it was listed is caught by the swap.
    /// Returns false when the compaction was cancelled.
    /// </summary>
    private bool CopyListed(List<Segment> inputs, CompactionOutput output)
    {
        var start = 0;
        while (start < inputs.Count)
        {
            // One batch: inputs whose live bytes add up to ListedBatchBytes (at least one).
            var batch = new Segment?[inputs.Max(s => s.Id) + 1];
            long live = 0;
            var end = start;
            while (end < inputs.Count && (end == start || live + inputs[end].LiveBytes <= ListedBatchBytes))
            {
                batch[inputs[end].Id] = inputs[end];
                live += inputs[end++].LiveBytes;
            }

            var found = new List<RecordLocation>();
            for (var shard = 0; shard < ShardCount; shard++)
            {
                var table = _tables[shard];
                ulong cursor = 0;
                do
                {
                    if (_cancelCompaction)
                        return false;
                    lock (_locks[shard])
                    {
                        for (var b = 0; b < BucketsPerHold; b++)
                        {
                            cursor = table.CollectRecordsIn(cursor, batch, found);
                            if (cursor == 0)
                                break;
                        }
                    }
                }
                while (cursor != 0);
            }

            found.Sort();
            AfterListing?.Invoke();
            SegmentScanner? scanner = null;
            for (var i = 0; i < found.Count; i++)
            {
                var at = found[i];
                // A resize during the walk can list an entry twice.
                if (i > 0 && at == found[i - 1])
                    continue;
                if (_cancelCompaction)
                    return false;
                var segment = batch[at.Segment]!;
                if (scanner?.Segment != segment)
                    scanner = new SegmentScanner(segment, segment.Length);
                // Damage since recovery: as when reading it through, nothing in it is worth keeping.
                if (scanner.TryRecord(at.Offset, out var header, out var record) && header.Version == at.Version)
                    output.Copy(record, header, at.Segment, at.Offset, live: true);
            }

            start = end;
        }

        return true;
    }

    // Copies the records of one segment that are still needed (with keepOnly, only those no entry points at);
    // false when the compaction was cancelled.
    private bool CopyLive(Segment input, CompactionOutput output, long minOther, bool keepOnly = false)
    {
        var scanner = new SegmentScanner(input, input.Length);
        long position = 0;
        while (position < input.Length)
        {
            if (_cancelCompaction)
                return false;
            if (!scanner.TryRecord(position, out var header, out var record))
            {
                // Damaged bytes were reported at recovery; nothing in them is worth keeping.
                position = scanner.FindNext(position + 1);
                continue;
            }

            switch (Classify(input.Id, (int)position, header, record.Slice(RecordFormat.HeaderSize, header.KeyLength), minOther))
            {
                case Fate.Live when !keepOnly:
                    output.Copy(record, header, input.Id, (int)position, live: true);
                    break;
                case Fate.Keep:
                    output.Copy(record, header, input.Id, (int)position, live: false);
                    break;
            }

            position += header.Size;
        }

        return true;
    }

    private enum Fate
    {
        Drop,
        Live,
        Keep,
    }

    private Fate Classify(int segment, int offset, RecordHeader header, ReadOnlySpan<byte> key, long minOther)
    {
        // Records older than every other segment's oldest record cannot shadow anything that remains.
        var needed = header.Version > minOther;
        // A FLUSHALL marker is every key's tombstone: it stays for the grace period, so that a replica's older
        // record cannot come back after a restart, and after it while an older record may remain.
        if (header.IsFlush)
            return needed || HybridClock.TimeOf(header.Version) >= Now - (long)_options.TombstoneGrace.TotalMilliseconds ? Fate.Keep : Fate.Drop;
        if (header.Version <= Volatile.Read(ref _flushVersion))
            return Fate.Drop;

        var (shard, slot, hash) = Locate(key);
        // A record of a slot dropped after it was written: it no longer counts anywhere.
        if (UnderFloor(slot, segment))
            return Fate.Drop;
        lock (_locks[shard])
        {
            var table = _tables[shard];
            var i = table.Find(key, hash);
            if (i >= 0)
            {
                ref var e = ref table[i];
                // The directory's record (a value or a tombstone in its grace period) is the one to keep;
                // any other record of a key the directory knows is superseded by it.
                return e.Segment == segment && e.Offset == offset ? Fate.Live : Fate.Drop;
            }
        }

        // A key whose tombstone was purged: this record must stay while an older one may exist elsewhere.
        return needed ? Fate.Keep : Fate.Drop;
    }

    /// <summary>Output segments of one compaction: records copied verbatim (versions and CRCs unchanged).</summary>
    private sealed class CompactionOutput : IDisposable
    {
        private const int BufferSize = 1 << 20;

        private readonly LogStore _store;
        private readonly LogWriter _writer;
        private readonly List<Segment> _segments = [];
        private readonly List<Moved> _moved = [];
        private readonly byte[] _buffer = new byte[BufferSize];
        private readonly long _throttle;
        private readonly long _started = Stopwatch.GetTimestamp();
        private Segment? _current;
        private HintFile.Writer? _hint;
        private int _buffered;

        public CompactionOutput(LogStore store, LogWriter writer)
        {
            _store = store;
            _writer = writer;
            _throttle = store._options.CompactionBytesPerSecond;
        }

        public long BytesWritten { get; private set; }

        public void Copy(ReadOnlySpan<byte> record, RecordHeader header, int fromSegment, int fromOffset, bool live)
        {
            if (_current is null || (_current.Length > 0 && _current.Length + record.Length > _store._options.SegmentSize))
                StartSegment();
            var segment = _current!;
            var offset = segment.Length;
            if (record.Length > BufferSize - _buffered)
                WriteBuffer();
            if (record.Length > BufferSize)
                RandomAccess.Write(segment.Handle, record, offset);
            else
            {
                record.CopyTo(_buffer.AsSpan(_buffered));
                _buffered += record.Length;
            }

            segment.Length = offset + record.Length;
            segment.NoteVersion(header.Version);
            _hint!.Add(offset, record[..(RecordFormat.HeaderSize + header.KeyLength)]);
            BytesWritten += record.Length;
            if (live)
            {
                _moved.Add(new Moved(record.Slice(RecordFormat.HeaderSize, header.KeyLength).ToArray(), fromSegment, fromOffset, segment, (int)offset, record.Length));
            }
            else
            {
                segment.AddDead(record.Length);
                segment.MarkUnlisted();
            }
            Throttle();
        }

        public void Finish()
        {
            FinishSegment();
        }

        /// <summary>Repoints every key still at its old record to its copy; a copy overtaken by a newer write is dead.</summary>
        public void Swap()
        {
            var byShard = new List<Moved>[ShardCount];
            foreach (var m in _moved)
            {
                var shard = KeySlots.Of(m.Key) >> SlotShift;
                (byShard[shard] ??= []).Add(m);
            }

            for (var shard = 0; shard < ShardCount; shard++)
            {
                if (byShard[shard] is not { } moves)
                    continue;
                var table = _store._tables[shard];
                lock (_store._locks[shard])
                {
                    foreach (var m in moves)
                    {
                        var i = table.Find(m.Key, Hash(m.Key));
                        if (i >= 0 && table[i].Segment == m.FromSegment && table[i].Offset == m.FromOffset)
                        {
                            table[i].Segment = m.To.Id;
                            table[i].Offset = m.ToOffset;
                        }
                        else
                        {
                            m.To.AddDead(m.Size);
                            // Purged meanwhile (a tombstone past its grace): the copy may be one to keep.
                            if (i < 0)
                                m.To.MarkUnlisted();
                        }
                    }
                }
            }
        }

        public void Abandon()
        {
            Dispose();
            foreach (var s in _segments)
                _writer.Delete(s);
        }

        public void Dispose()
        {
            _hint?.Dispose();
            _hint = null;
        }

        private void StartSegment()
        {
            FinishSegment();
            _current = _writer.CreateSegment();
            _segments.Add(_current);
            _hint = new HintFile.Writer(Path.Combine(_store._options.Directory, Segment.HintName(_current.Id)));
        }

        private void FinishSegment()
        {
            if (_current is null)
                return;
            WriteBuffer();
            RandomAccess.FlushToDisk(_current.Handle);
            _current.WrittenLength = _current.Length;
            _hint!.Commit();
            _hint.Dispose();
            _hint = null;
            _current.HasHint = true;
            _current = null;
        }

        private void WriteBuffer()
        {
            if (_buffered == 0)
                return;
            // Segment.Length already counts the buffered bytes: they start that far before it.
            RandomAccess.Write(_current!.Handle, _buffer.AsSpan(0, _buffered), _current.Length - _buffered);
            _buffered = 0;
        }

        // Bounded I/O: compaction shares the disk with the writes and reads it serves.
        private void Throttle()
        {
            if (_throttle <= 0)
                return;
            var due = TimeSpan.FromSeconds((double)BytesWritten / _throttle);
            var ahead = due - Stopwatch.GetElapsedTime(_started);
            if (ahead > TimeSpan.FromMilliseconds(10))
                Thread.Sleep(ahead);
        }
    }

    private readonly record struct Moved(byte[] Key, int FromSegment, int FromOffset, Segment To, int ToOffset, int Size);
}

/// <summary>What one compaction did.</summary>
/// <param name="Segments">Segments rewritten (0: nothing to do, or cancelled).</param>
/// <param name="BytesBefore">Their size.</param>
/// <param name="BytesAfter">Size of the segments written in their place.</param>
/// <param name="Elapsed">Time taken.</param>
public readonly record struct CompactionResult(int Segments, long BytesBefore, long BytesAfter, TimeSpan Elapsed)
{
    /// <summary>Of the segments rewritten, those whose records to copy were found from the key directory.</summary>
    public int Listed { get; init; }
}

/// <summary>Where the record of a key directory entry lies, and its version; sorted in file order.</summary>
internal readonly record struct RecordLocation(int Segment, int Offset, long Version) : IComparable<RecordLocation>
{
    public int CompareTo(RecordLocation other) =>
        Segment != other.Segment ? Segment.CompareTo(other.Segment) : Offset.CompareTo(other.Offset);
}

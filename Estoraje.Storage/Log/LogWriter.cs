using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace Estoraje.Storage.Log;

/// <summary>
/// Appends records to the active segment and makes them durable.
/// <para>
/// Records are copied into a buffer under a short lock; a write system call hands the buffer to the OS when
/// it fills, when a reader needs a record still in it, and when a caller commits. Positions are byte counts
/// since the writer opened (log sequence numbers): <c>appended ≥ written ≥ synced</c>.
/// </para>
/// <para>
/// Group commit (<see cref="FsyncPolicy.Always"/>): a committer registers the position it needs and waits;
/// one syncer thread writes the buffer, fsyncs once, and releases every waiter at or below the synced
/// position. Writers that arrive during an fsync are covered by the next one, so the fsync rate is bounded
/// by the disk, not by the number of writers, and a connection that pipelines many writes waits once.
/// An event loop commits its pass with <see cref="Commit"/> instead: it fsyncs on its own thread, as Redis's
/// loop does, and its clients' requests gather meanwhile for its next pass.
/// Under <see cref="FsyncPolicy.EverySecond"/> and <see cref="FsyncPolicy.No"/> a commit only writes the
/// buffer to the OS (a crash of the process then loses nothing acknowledged); the syncer fsyncs every second
/// for EverySecond.
/// </para>
/// </summary>
internal sealed class LogWriter : IDisposable
{
    private const int BufferSize = 256 * 1024;

    private readonly Lock _lock = new();
    private readonly string _directory;
    private readonly long _segmentSize;
    private readonly FsyncPolicy _policy;
    private readonly byte[] _buffer = new byte[BufferSize];
    private readonly Thread? _syncer;
    private readonly AutoResetEvent _wake = new(false);
    private readonly Lock _waitersLock = new();

    // Held by whoever fsyncs under Always: the syncer, or a committer doing it itself (Commit).
    private readonly Lock _syncLock = new();
    private readonly List<(long Position, TaskCompletionSource Done)> _waiters = [];
    private Segment?[] _segments;
    private Segment _active;
    private int _buffered;
    private long _appended;
    private long _written;
    private long _synced;
    private long _fsyncs;
    private volatile bool _stopping;
    private Exception? _failure;

    // The active segment's hint file, written as its records are appended (each record's offset, header and key), so
    // that a segment has its hint as soon as it is sealed and the next start, even after a crash, reads a few bytes
    // per key instead of the segment. None for an active segment recovered with records in it (those are in no hint:
    // compaction writes its hint once it is sealed) or after the hint could not be written (it is only a shortcut).
    private HintFile.Writer? _hint;
    private Task _hintCommits = Task.CompletedTask;

    // Under appendfsync always each segment after the first (of the store, or since the start) is a file zero-filled
    // to the segment size ahead of time (a spare, prepared in the background, renamed at the roll): an fsync after
    // writing into blocks the file already has writes the data alone, while one after an append that grows the
    // file also commits its new size to the filesystem's journal (94 µs against 174 for 4 KB on the benchmark
    // machine's disk). The active segment's file is then longer than its records; sealed, or at close, it is cut to
    // their length, and a start after a crash cuts the tail of zeros (LogStore.Recovery).
    internal const string SpareName = "next-segment.tmp";
    private Task<bool>? _spare;
    private bool _activePreallocated;

    /// <summary>Completes with whether a spare segment file is ready (false without one: not under always, no room).</summary>
    internal Task<bool> SpareReady => Volatile.Read(ref _spare) ?? Task.FromResult(false);

    public LogWriter(string directory, long segmentSize, FsyncPolicy policy, Segment?[] segments, Segment active)
    {
        _directory = directory;
        _segmentSize = segmentSize;
        _policy = policy;
        _segments = segments;
        _active = active;
        _hint = active.Length == 0 ? HintFile.Writer.TryCreate(directory, active.Id) : null;
        if (policy == FsyncPolicy.Always)
            _spare = PrepareSpare();
        if (policy != FsyncPolicy.No)
        {
            _syncer = new Thread(SyncLoop) { IsBackground = true, Name = "estoraje-fsync" };
            _syncer.Start();
        }
    }

    /// <summary>Fsyncs done since open.</summary>
    public long FsyncCount => Interlocked.Read(ref _fsyncs);

    public long AppendedPosition => Interlocked.Read(ref _appended);

    public long SyncedPosition => Interlocked.Read(ref _synced);

    /// <summary>
    /// Whether records were appended that a commit has not yet made as durable as the policy promises: fsync'd under
    /// <see cref="FsyncPolicy.Always"/>, handed to the OS otherwise. False once a write failed: no commit will come,
    /// and reads go on without one (as Redis serves reads after a failed AOF write).
    /// </summary>
    public bool HasUncommitted =>
        Volatile.Read(ref _failure) is null &&
        AppendedPosition > (_policy == FsyncPolicy.Always ? SyncedPosition : Interlocked.Read(ref _written));

    public int ActiveId => Volatile.Read(ref _active).Id;

    /// <summary>The segment with <paramref name="id"/>, or null when it is gone.</summary>
    public Segment? Get(int id)
    {
        var segments = Volatile.Read(ref _segments);
        return (uint)id < (uint)segments.Length ? segments[id] : null;
    }

    /// <summary>Every segment held, oldest first.</summary>
    public List<Segment> Segments()
    {
        var list = new List<Segment>();
        foreach (var s in Volatile.Read(ref _segments))
        {
            if (s is not null)
                list.Add(s);
        }

        return list;
    }

    /// <summary>Appends one record; returns the segment and offset it starts at.</summary>
    public (Segment Segment, int Offset) Append(long version, long expiresAt, ValueKind kind, RecordFlags flags,
        ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        lock (_lock)
            return AppendLocked(version, expiresAt, kind, flags, key, value);
    }

    /// <summary>
    /// FLUSHALL: seals the active segment, writes the flush marker at the start of a new one and makes it
    /// durable, all under the writer's lock (a compaction cannot roll in between); returns every other
    /// segment, for the caller to delete.
    /// </summary>
    public List<Segment> StartOver(long version)
    {
        List<Segment> others = [];
        lock (_lock)
        {
            RollLocked();
            AppendLocked(version, 0, ValueKind.None, RecordFlags.Flush, default, default);
            _active.MarkUnlisted();
            WriteBufferLocked();
            DataSync.Flush(_active.Handle);
            Interlocked.Increment(ref _fsyncs);
            InterlockedMax(ref _synced, Interlocked.Read(ref _written));
            foreach (var s in _segments)
            {
                if (s is not null && s != _active)
                    others.Add(s);
            }
        }

        ReleaseWaiters(SyncedPosition);
        return others;
    }

    private (Segment Segment, int Offset) AppendLocked(long version, long expiresAt, ValueKind kind, RecordFlags flags,
        ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var size = RecordFormat.RecordSize(key.Length, value.Length);
        ThrowIfFailed();
        if (_active.Length > 0 && _active.Length + size > _segmentSize)
            RollLocked();

        var segment = _active;
        var offset = segment.Length;
        if (size > BufferSize - _buffered)
            WriteBufferLocked();

        if (size <= BufferSize)
        {
            var record = _buffer.AsSpan(_buffered, (int)size);
            RecordFormat.Write(record, version, expiresAt, kind, flags, key, value);
            AddToHint(offset, record[..(RecordFormat.HeaderSize + key.Length)]);
            _buffered += (int)size;
        }
        else
        {
            // Larger than the buffer: written on its own, straight away.
            var rented = ArrayPool<byte>.Shared.Rent((int)size);
            try
            {
                RecordFormat.Write(rented.AsSpan(0, (int)size), version, expiresAt, kind, flags, key, value);
                Write(segment, rented.AsSpan(0, (int)size), offset);
                AddToHint(offset, rented.AsSpan(0, RecordFormat.HeaderSize + key.Length));
                segment.WrittenLength = offset + size;
                Interlocked.Add(ref _written, size);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        segment.Length = offset + size;
        segment.NoteVersion(version);
        Interlocked.Add(ref _appended, size);
        return (segment, (int)offset);
    }

    /// <summary>Hands buffered records of <paramref name="segment"/> to the OS, so that a positional read finds them.</summary>
    public void EnsureReadable(Segment segment, long end)
    {
        if (end <= segment.WrittenLength)
            return;
        lock (_lock)
            WriteBufferLocked();
    }

    /// <summary>
    /// Completes when every record appended before the call is as durable as the policy promises. Synchronous
    /// (a write system call at most) except under <see cref="FsyncPolicy.Always"/>.
    /// </summary>
    public ValueTask CommitAsync()
    {
        var position = AppendedPosition;
        if (_policy != FsyncPolicy.Always)
        {
            WriteThrough(position);
            return ValueTask.CompletedTask;
        }

        if (SyncedPosition >= position)
            return ValueTask.CompletedTask;
        // Completed by the syncer outside its locks, and its continuation (the connection's flush of its
        // replies, then its next read) runs there, synchronously: one thread wakes per fsync, not one per
        // waiter, as Redis writes its replies right after its fsync.
        var done = new TaskCompletionSource();
        lock (_waitersLock)
        {
            if (_failure is not null)
                return ValueTask.FromException(_failure);
            _waiters.Add((position, done));
        }

        _wake.Set();
        return new ValueTask(done.Task);
    }

    /// <summary>
    /// Makes every record appended before the call as durable as <see cref="CommitAsync"/> does, on this thread:
    /// under <see cref="FsyncPolicy.Always"/> by an fsync of its own, after the one under way if that does not
    /// cover them. Waiters the fsync covers are released, their continuations run here: the caller holds no lock.
    /// </summary>
    public void Commit()
    {
        var position = AppendedPosition;
        if (_policy != FsyncPolicy.Always)
        {
            WriteThrough(position);
            return;
        }

        if (SyncedPosition >= position)
            return;
        ThrowIfFailed();
        try
        {
            lock (_syncLock)
            {
                if (SyncedPosition < position)
                    SyncActiveLocked();
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            Fail(ex);
            throw;
        }

        ReleaseWaiters(SyncedPosition, inline: true);
    }

    // Hands the buffer to the OS unless what is written already reaches the position.
    private void WriteThrough(long position)
    {
        if (Interlocked.Read(ref _written) >= position)
            return;
        lock (_lock)
            WriteBufferLocked();
    }

    /// <summary>Writes and fsyncs everything appended (clean shutdown, FLUSHALL).</summary>
    public void Sync()
    {
        lock (_lock)
        {
            WriteBufferLocked();
            DataSync.Flush(_active.Handle);
            Interlocked.Increment(ref _fsyncs);
            InterlockedMax(ref _synced, Interlocked.Read(ref _written));
        }

        ReleaseWaiters(SyncedPosition);
    }

    /// <summary>Seals the active segment and starts a new one; returns the new one.</summary>
    public Segment Roll()
    {
        lock (_lock)
        {
            RollLocked();
            return _active;
        }
    }

    /// <summary>Creates a new segment file outside the append path (compaction output), registered but not active.</summary>
    public Segment CreateSegment()
    {
        lock (_lock)
            return CreateSegmentLocked(fromSpare: false, out _);
    }

    /// <summary>Forgets a segment and deletes its file and hint file (after compaction or FLUSHALL).</summary>
    public void Delete(Segment segment)
    {
        lock (_lock)
        {
            var segments = (Segment?[])_segments.Clone();
            segments[segment.Id] = null;
            Volatile.Write(ref _segments, segments);
        }

        segment.Dispose();
        File.Delete(segment.Path);
        File.Delete(Path.Combine(_directory, Segment.HintName(segment.Id)));
    }

    public void Dispose()
    {
        _stopping = true;
        _wake.Set();
        // The syncer runs connections' continuations: a shutdown started from one must not wait for itself.
        if (_syncer is not null && _syncer != Thread.CurrentThread)
            _syncer.Join();
        try
        {
            if (_failure is null)
                Sync();
        }
        finally
        {
            // The active segment goes on after a restart: its records so far are in no hint file it could keep.
            lock (_lock)
            {
                _hint?.Dispose();
                _hint = null;
                try
                {
                    CutToRecords();
                }
                catch (IOException)
                {
                    // Left longer than its records: the next start cuts the zeros.
                }
            }

            _hintCommits.Wait();
            CloseSpare();
            foreach (var s in Volatile.Read(ref _segments))
                s?.Dispose();
            _wake.Dispose();
        }
    }

    private void RollLocked()
    {
        WriteBufferLocked();
        CutToRecords();
        if (_policy != FsyncPolicy.No)
        {
            // Everything written so far is in the segment being sealed: once it is fsync'd, the syncer only
            // ever has to fsync the active segment.
            DataSync.Flush(_active.Handle);
            Interlocked.Increment(ref _fsyncs);
            InterlockedMax(ref _synced, Interlocked.Read(ref _written));
            _wake.Set();
        }

        var sealedSegment = _active;
        var hint = _hint;
        _active = CreateSegmentLocked(fromSpare: _spare is { IsCompletedSuccessfully: true, Result: true }, out _activePreallocated);
        // The spare taken, or none could be made (no room then, perhaps room now): the next one.
        if (_spare is { IsCompleted: true })
            _spare = PrepareSpare();
        _hint = HintFile.Writer.TryCreate(_directory, _active.Id);
        if (hint is not null)
            CommitHint(sealedSegment, hint);
    }

    // Zero-fills the spare segment file in the background; false when it could not (then segments are created as
    // before). Not on a disk without room for a few segments more: the spare would take what writes need.
    private Task<bool> PrepareSpare() => Task.Run(() =>
    {
        var path = Path.Combine(_directory, SpareName);
        try
        {
            if (new DriveInfo(_directory).AvailableFreeSpace < 4 * _segmentSize)
                return false;
            using (var file = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                var zeros = new byte[1 << 20];
                for (long p = 0; p < _segmentSize && !_stopping; p += zeros.Length)
                    RandomAccess.Write(file, zeros.AsSpan(0, (int)Math.Min(zeros.Length, _segmentSize - p)), p);
                if (!_stopping)
                {
                    DataSync.Flush(file);
                    return true;
                }
            }

            // Closing: the writer deletes the file after this task (CloseSpare).
            return false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            File.Delete(path);
            return false;
        }
    });

    // Renames the spare to the new segment's name; false (the segment is then created empty) if it cannot.
    private bool TryTakeSpare(string path)
    {
        try
        {
            File.Move(Path.Combine(_directory, SpareName), path);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    // Cuts a preallocated active segment's file to its records (sealing it, or at close).
    private void CutToRecords()
    {
        if (!_activePreallocated)
            return;
        RandomAccess.SetLength(_active.Handle, _active.Length);
        _activePreallocated = false;
    }

    // At close: the spare under way ends early, and its file goes (a start deletes one left by a crash).
    private void CloseSpare()
    {
        if (_spare is null)
            return;
        try
        {
            _spare.Wait();
        }
        catch (AggregateException)
        {
        }

        File.Delete(Path.Combine(_directory, SpareName));
    }

    private void AddToHint(long offset, ReadOnlySpan<byte> headerAndKey)
    {
        if (_hint is null)
            return;
        try
        {
            _hint.Add(offset, headerAndKey);
        }
        catch (IOException)
        {
            // Disk full, say: the segment goes without a hint until compaction writes one.
            _hint.Dispose();
            _hint = null;
        }
    }

    // Makes a sealed segment's hint file durable and visible, off the append path (an fsync of a file of a few
    // bytes per record). Marked as hinted at once, so that compaction does not write one of its own meanwhile; if
    // the commit fails, compaction writes it later.
    private void CommitHint(Segment segment, HintFile.Writer hint)
    {
        segment.HasHint = true;
        _hintCommits = _hintCommits.ContinueWith(_ =>
        {
            try
            {
                hint.Commit();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                hint.Dispose();
                segment.HasHint = false;
            }
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    private Segment CreateSegmentLocked(bool fromSpare, out bool preallocated)
    {
        // Ids only grow (the array spans every id ever used): a deleted segment's id is never reused, so a
        // stale hint file or a leftover segment cannot be mistaken for a new one.
        var segments = _segments;
        var id = segments.Length;
        var path = Path.Combine(_directory, Segment.FileName(id));
        // A hint file left by a segment of this id that is gone would describe the wrong records.
        File.Delete(Path.Combine(_directory, Segment.HintName(id)));
        preallocated = fromSpare && TryTakeSpare(path);
        var handle = File.OpenHandle(path, preallocated ? FileMode.Open : FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
        // Records fsync'd into a file whose directory entry is lost with a power cut are lost with it.
        if (_policy != FsyncPolicy.No)
            DirectorySync.Flush(_directory);
        var segment = new Segment(id, path, handle, 0);
        var grown = new Segment?[id + 1];
        Array.Copy(segments, grown, segments.Length);
        grown[id] = segment;
        Volatile.Write(ref _segments, grown);
        return segment;
    }

    private void WriteBufferLocked()
    {
        if (_buffered == 0)
            return;
        var segment = _active;
        var start = segment.Length - _buffered;
        Write(segment, _buffer.AsSpan(0, _buffered), start);
        segment.WrittenLength = segment.Length;
        Interlocked.Add(ref _written, _buffered);
        _buffered = 0;
    }

    private void Write(Segment segment, ReadOnlySpan<byte> bytes, long offset)
    {
        try
        {
            RandomAccess.Write(segment.Handle, bytes, offset);
        }
        catch (IOException ex)
        {
            // A failed write leaves the file in an unknown state: refuse further writes rather than ack them.
            Fail(ex);
            throw;
        }
    }

    /// <summary>The I/O error that stopped the writer, or null while it accepts records.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    private void Fail(Exception ex)
    {
        List<(long Position, TaskCompletionSource Done)> failed;
        lock (_waitersLock)
        {
            _failure ??= ex;
            failed = [.. _waiters];
            _waiters.Clear();
        }

        // Fail runs where the write failed, under the writer's lock and maybe a shard's: the continuations run elsewhere.
        foreach (var (_, done) in failed)
            ThreadPool.UnsafeQueueUserWorkItem(static state => state.Done.TrySetException(state.Error), (Done: done, Error: ex), preferLocal: false);
    }

    private void ThrowIfFailed()
    {
        if (_failure is not null)
            throw new IOException("The log store stopped accepting writes after an I/O error.", _failure);
    }

    private void SyncLoop()
    {
        while (!_stopping)
        {
            if (_policy == FsyncPolicy.Always)
                _wake.WaitOne();
            else
                _wake.WaitOne(TimeSpan.FromSeconds(1));
            if (_stopping)
                break;

            try
            {
                lock (_syncLock)
                    SyncActiveLocked();
                ReleaseWaiters(SyncedPosition, inline: true);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                Fail(ex);
                return;
            }
        }
    }

    // Writes the buffer and fsyncs the active segment (under _syncLock).
    private void SyncActiveLocked()
    {
        long target;
        Segment segment;
        lock (_lock)
        {
            WriteBufferLocked();
            target = Interlocked.Read(ref _written);
            segment = _active;
        }

        if (target > SyncedPosition)
        {
            DataSync.Flush(segment.Handle);
            Interlocked.Increment(ref _fsyncs);
            InterlockedMax(ref _synced, target);
        }
    }

    // The syncer and Commit run the continuations inline: Sync and StartOver are called under store locks
    // (FLUSHALL holds every shard's), where a connection's next batch must not run; they hand theirs to the thread pool.
    private void ReleaseWaiters(long synced, bool inline = false)
    {
        List<TaskCompletionSource>? released = null;
        lock (_waitersLock)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Position <= synced)
                {
                    (released ??= []).Add(_waiters[i].Done);
                    _waiters[i] = _waiters[^1];
                    _waiters.RemoveAt(_waiters.Count - 1);
                }
            }
        }

        // Outside the lock: each completion runs its connection's continuation here, which may commit again.
        if (released is not null)
        {
            foreach (var done in released)
            {
                if (inline)
                    done.TrySetResult();
                else
                    ThreadPool.UnsafeQueueUserWorkItem(static d => d.TrySetResult(), done, preferLocal: false);
            }
        }

        // Waiters that registered after the snapshot of this fsync (or during the continuations) need the next one.
        bool more;
        lock (_waitersLock)
            more = _waiters.Count > 0;
        if (more)
            _wake.Set();
    }

    private static void InterlockedMax(ref long target, long value)
    {
        while (true)
        {
            var current = Interlocked.Read(ref target);
            if (value <= current || Interlocked.CompareExchange(ref target, value, current) == current)
                return;
        }
    }
}

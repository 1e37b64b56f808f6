namespace Estoraje.Storage.Log;

/// <summary>
/// The bytes of one shard's keys, packed end to end in 16 KB chunks, each key behind a varint of its length
/// (one byte under 128 bytes). A key is named by a 32-bit handle, its chunk's index above
/// <see cref="ChunkBits"/> bits and its offset below them, so that the key directory's entries hold no
/// reference and a key costs its bytes and the prefix: no array header, no padding to 8 bytes.
/// <para>
/// A freed key leaves dead bytes in its chunk. A chunk that has no live key left is dropped at once; one whose
/// dead bytes reach half its size becomes a candidate, and the owner (<see cref="KeyDirectory"/>, which can
/// find the entry of a key) moves its live keys to the chunk being filled, then releases it: every freed byte
/// is copied at most once, so the work is amortised and bounded by one chunk per step, and the chunks held
/// stay within about twice the live keys' bytes. A key larger than <see cref="OwnChunkFrom"/> gets a chunk of
/// its own, freed with it. Not thread-safe: its shard's lock guards it.
/// </para>
/// </summary>
internal sealed class KeyArena
{
    public const int ChunkBits = 14;
    public const int ChunkSize = 1 << ChunkBits;

    // A record above this has a chunk of its own, so that at most this much of a shared chunk's tail goes unused.
    public const int OwnChunkFrom = ChunkSize / 8;

    private const int OffsetMask = ChunkSize - 1;
    private const int MaxChunks = 1 << (32 - ChunkBits);

    private byte[]?[] _chunks = new byte[]?[4];
    private int[] _used = new int[4];  // bytes of records written into the chunk
    private int[] _dead = new int[4];  // of those, bytes of records freed since
    private int _chunkCount;           // chunk indices handed out; null ones below are free
    private int _freeChunk = -1;       // a free index below _chunkCount (its _used links to the next), or -1
    private int _current = -1;         // the shared chunk being filled
    private int _compacting = -1;      // the chunk whose keys are being moved: not released under the mover
    private readonly Stack<int> _candidates = new();

    /// <summary>Bytes of the chunks held.</summary>
    public long AllocatedBytes { get; private set; }

    /// <summary>Bytes of the live keys' records (prefix and key).</summary>
    public long LiveBytes { get; private set; }

    /// <summary>Chunks held: shared ones and those of single large keys.</summary>
    public int ChunkCount { get; private set; }

    /// <summary>Chunks whose live keys were moved out so that they could be released.</summary>
    public long ChunksMoved { get; private set; }

    /// <summary>Bytes a key of <paramref name="length"/> bytes takes: its length prefix and itself.</summary>
    public static int RecordSize(int length) => VarintSize(length) + length;

    /// <summary>Copies <paramref name="key"/> in; returns its handle.</summary>
    public uint Add(ReadOnlySpan<byte> key)
    {
        var size = RecordSize(key.Length);
        int chunk, offset;
        if (size > OwnChunkFrom)
        {
            chunk = NewChunk(size);
            offset = 0;
        }
        else
        {
            if (_current < 0 || _used[_current] + size > ChunkSize)
                Roll();
            chunk = _current;
            offset = _used[chunk];
        }

        var bytes = _chunks[chunk]!;
        var n = WriteVarint(bytes.AsSpan(offset), key.Length);
        key.CopyTo(bytes.AsSpan(offset + n));
        _used[chunk] = offset + size;
        LiveBytes += size;
        return (uint)chunk << ChunkBits | (uint)offset;
    }

    /// <summary>The key behind <paramref name="handle"/>: valid until the next <see cref="Add"/> or <see cref="Free"/>.</summary>
    public ReadOnlySpan<byte> Get(uint handle)
    {
        var bytes = _chunks[handle >> ChunkBits]!;
        var offset = (int)(handle & OffsetMask);
        var length = (int)bytes[offset];
        // Almost every key is under 128 bytes: its prefix is that one byte.
        if (length < 0x80)
            return bytes.AsSpan(offset + 1, length);
        length = ReadVarint(bytes, offset, out var n);
        return bytes.AsSpan(offset + n, length);
    }

    /// <summary>Prefetches the key behind <paramref name="handle"/>, read without the lock (see <see cref="ChainedTable{TEntry}.PrefetchBucket"/>).</summary>
    public void Prefetch(uint handle)
    {
        var chunks = _chunks;
        var chunk = handle >> ChunkBits;
        var bytes = chunk < (uint)chunks.Length ? chunks[chunk] : null;
        var offset = (int)(handle & OffsetMask);
        if (bytes is not null && offset < bytes.Length)
            CacheLines.Prefetch(ref bytes[offset], Math.Min(32, bytes.Length - offset));
    }

    /// <summary>Gives up the key behind <paramref name="handle"/>.</summary>
    public void Free(uint handle)
    {
        var chunk = (int)(handle >> ChunkBits);
        var bytes = _chunks[chunk]!;
        var size = RecordSize(ReadVarint(bytes, (int)(handle & OffsetMask), out _));
        var wasCandidate = IsCandidate(chunk);
        _dead[chunk] += size;
        LiveBytes -= size;
        if (_dead[chunk] == _used[chunk])
        {
            if (chunk == _current)
            {
                // Every key written into the chunk being filled is gone: fill it again from the start.
                _used[chunk] = 0;
                _dead[chunk] = 0;
            }
            else if (chunk != _compacting)
            {
                Release(chunk);
            }
        }
        else if (!wasCandidate && IsCandidate(chunk))
        {
            _candidates.Push(chunk);
        }
    }

    /// <summary>
    /// A chunk whose live keys are worth moving out, or false when there is none. The caller moves each live
    /// record (<see cref="NextRecord"/>) with <see cref="Add"/> and <see cref="Free"/>, then calls <see cref="EndMove"/>.
    /// </summary>
    public bool TryBeginMove(out int chunk)
    {
        while (_candidates.TryPop(out chunk))
        {
            // The stack may hold a chunk released (or released and reused) since it was pushed.
            if (_chunks[chunk] is not null && IsCandidate(chunk))
            {
                _compacting = chunk;
                return true;
            }
        }

        return false;
    }

    /// <summary>Releases the chunk whose live keys were all moved out.</summary>
    public void EndMove(int chunk)
    {
        _compacting = -1;
        if (_dead[chunk] != _used[chunk])
            throw new InvalidOperationException($"Key arena chunk {chunk} still holds live keys after they were moved.");
        Release(chunk);
        ChunksMoved++;
    }

    /// <summary>
    /// Steps through the records of <paramref name="chunk"/>, live or dead, from <paramref name="position"/>
    /// (0 to start); false past the last one.
    /// </summary>
    public bool NextRecord(int chunk, ref int position, out uint handle, out ReadOnlySpan<byte> key)
    {
        if (position >= _used[chunk])
        {
            handle = 0;
            key = default;
            return false;
        }

        var bytes = _chunks[chunk]!;
        var length = ReadVarint(bytes, position, out var n);
        handle = (uint)chunk << ChunkBits | (uint)position;
        key = bytes.AsSpan(position + n, length);
        position += n + length;
        return true;
    }

    public void Clear()
    {
        _chunks = new byte[]?[4];
        _used = new int[4];
        _dead = new int[4];
        _chunkCount = 0;
        _freeChunk = -1;
        _current = -1;
        _compacting = -1;
        _candidates.Clear();
        AllocatedBytes = 0;
        LiveBytes = 0;
        ChunkCount = 0;
    }

    // Worth moving: moving its live bytes out frees at least half a chunk.
    private bool IsCandidate(int chunk) =>
        chunk != _current && 2 * (_chunks[chunk]!.Length - (_used[chunk] - _dead[chunk])) >= ChunkSize;

    private void Roll()
    {
        var previous = _current;
        _current = NewChunk(ChunkSize);
        if (previous < 0)
            return;
        if (_dead[previous] == _used[previous])
            Release(previous);
        else if (IsCandidate(previous))
            _candidates.Push(previous);
    }

    private int NewChunk(int size)
    {
        int chunk;
        if (_freeChunk >= 0)
        {
            chunk = _freeChunk;
            _freeChunk = _used[chunk];
        }
        else
        {
            if (_chunkCount == MaxChunks)
                throw new InvalidOperationException($"A key directory shard holds at most {MaxChunks} key chunks ({MaxChunks} keys over {OwnChunkFrom} bytes, or 4 GB of keys).");
            if (_chunkCount == _chunks.Length)
            {
                var length = Math.Min(MaxChunks, _chunks.Length * 2);
                Array.Resize(ref _chunks, length);
                Array.Resize(ref _used, length);
                Array.Resize(ref _dead, length);
            }

            chunk = _chunkCount++;
        }

        _chunks[chunk] = new byte[size];
        _used[chunk] = 0;
        _dead[chunk] = 0;
        AllocatedBytes += size;
        ChunkCount++;
        return chunk;
    }

    private void Release(int chunk)
    {
        AllocatedBytes -= _chunks[chunk]!.Length;
        ChunkCount--;
        _chunks[chunk] = null;
        _dead[chunk] = 0;
        _used[chunk] = _freeChunk;
        _freeChunk = chunk;
    }

    private static int VarintSize(int value)
    {
        var n = 1;
        for (var v = (uint)value; v >= 0x80; v >>= 7)
            n++;
        return n;
    }

    private static int WriteVarint(Span<byte> destination, int value)
    {
        var v = (uint)value;
        var n = 0;
        while (v >= 0x80)
        {
            destination[n++] = (byte)(v | 0x80);
            v >>= 7;
        }

        destination[n++] = (byte)v;
        return n;
    }

    private static int ReadVarint(byte[] bytes, int offset, out int size)
    {
        uint value = 0;
        var shift = 0;
        size = 0;
        while (true)
        {
            var b = bytes[offset + size++];
            value |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
                return (int)value;
            shift += 7;
        }
    }
}

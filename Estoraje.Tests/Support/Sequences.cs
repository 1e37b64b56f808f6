using System.Buffers;

namespace Estoraje.Tests.Support;

/// <summary>Builds multi-segment <see cref="ReadOnlySequence{T}"/>s, the way a pipe hands data over.</summary>
internal static class Sequences
{
    /// <summary>
    /// One segment per chunk. Every segment is an exact-size array of its own, so a reader that strays past the
    /// end of a segment fails instead of reading the neighbouring bytes.
    /// </summary>
    public static ReadOnlySequence<byte> FromChunks(IReadOnlyList<byte[]> chunks) => Chain(chunks.Select(c => c.ToArray()).ToList());

    /// <summary><paramref name="data"/> cut into segments at the given offsets (ascending, duplicates give empty segments).</summary>
    public static ReadOnlySequence<byte> SplitAt(byte[] data, params int[] cuts)
    {
        var chunks = new List<byte[]>(cuts.Length + 1);
        var start = 0;
        foreach (var cut in cuts)
        {
            chunks.Add(data[start..cut]);
            start = cut;
        }

        chunks.Add(data[start..]);
        return Chain(chunks);
    }

    /// <summary>Every byte in its own segment: every boundary at once.</summary>
    public static ReadOnlySequence<byte> OneBytePerSegment(byte[] data, int start = 0, int end = -1)
    {
        if (end < 0)
            end = data.Length;
        var chunks = new List<byte[]>(end - start);
        for (var i = start; i < end; i++)
            chunks.Add([data[i]]);
        return Chain(chunks);
    }

    /// <summary>
    /// <paramref name="head"/>, then <paramref name="count"/> bytes taken from <paramref name="block"/> over and
    /// over (every segment shares its memory), then <paramref name="tail"/>: a huge sequence in little memory.
    /// </summary>
    public static ReadOnlySequence<byte> Repeat(byte[] head, byte[] block, long count, byte[] tail)
    {
        var chunks = new List<ReadOnlyMemory<byte>> { head.ToArray() };
        for (var left = count; left > 0; left -= block.Length)
            chunks.Add(block.AsMemory(0, (int)Math.Min(block.Length, left)));
        chunks.Add(tail.ToArray());
        return Chain(chunks);
    }

    // Links memory the caller no longer uses into one sequence, without copying it.
    private static ReadOnlySequence<byte> Chain(List<byte[]> owned) => Chain(owned.ConvertAll(a => (ReadOnlyMemory<byte>)a));

    private static ReadOnlySequence<byte> Chain(List<ReadOnlyMemory<byte>> owned)
    {
        if (owned.Count == 0)
            return ReadOnlySequence<byte>.Empty;
        var first = new Segment(owned[0], 0);
        var last = first;
        for (var i = 1; i < owned.Count; i++)
            last = last.Append(owned[i]);
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}

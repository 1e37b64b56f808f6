using System.Buffers;

namespace Estoraje.Tests.Support;

/// <summary>Builds multi-segment <see cref="ReadOnlySequence{T}"/>s, the way a pipe hands data over.</summary>
internal static class Sequences
{
    /// <summary>One segment per chunk. Each chunk is copied into its own array, so a reader that runs past
    /// the end of a segment reads someone else's memory no more.</summary>
    public static ReadOnlySequence<byte> FromChunks(IReadOnlyList<byte[]> chunks)
    {
        if (chunks.Count == 0)
            return ReadOnlySequence<byte>.Empty;
        var first = new Segment(chunks[0].ToArray(), 0);
        var last = first;
        for (var i = 1; i < chunks.Count; i++)
            last = last.Append(chunks[i].ToArray());
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

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
        return FromChunks(chunks);
    }

    /// <summary>Every byte in its own segment: every boundary at once.</summary>
    public static ReadOnlySequence<byte> OneBytePerSegment(byte[] data, int start = 0, int end = -1)
    {
        if (end < 0)
            end = data.Length;
        var chunks = new List<byte[]>(end - start);
        for (var i = start; i < end; i++)
            chunks.Add([data[i]]);
        return FromChunks(chunks);
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

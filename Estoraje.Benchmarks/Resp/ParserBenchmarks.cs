using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Estoraje.Resp;

namespace Estoraje.Benchmarks.Resp;

/// <summary>
/// Frames a batch of 1000 pipelined requests, as a connection sees them after one large read. Throughput
/// in MB/s is <see cref="BatchBytes"/> divided by the mean time; allocations per batch must be 0.
/// </summary>
[MemoryDiagnoser]
public class ParserBenchmarks
{
    private const int Requests = 1000;
    private readonly RequestParser _parser = new();
    private ReadOnlySequence<byte> _set;
    private ReadOnlySequence<byte> _get;
    private ReadOnlySequence<byte> _setSegmented;

    /// <summary>Bytes in the SET batch (for MB/s).</summary>
    public static int BatchBytes { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        var value = new string('x', 100);
        var set = new StringBuilder();
        var get = new StringBuilder();
        for (var i = 0; i < Requests; i++)
        {
            var key = $"key:{i:D12}";
            set.Append($"*3\r\n$3\r\nSET\r\n${key.Length}\r\n{key}\r\n${value.Length}\r\n{value}\r\n");
            get.Append($"*2\r\n$3\r\nGET\r\n${key.Length}\r\n{key}\r\n");
        }

        var setBytes = Encoding.ASCII.GetBytes(set.ToString());
        BatchBytes = setBytes.Length;
        _set = new ReadOnlySequence<byte>(setBytes);
        _get = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(get.ToString()));
        _setSegmented = Segments.Split(setBytes, 4096);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Requests)]
    public int Set_batch() => Drain(_set);

    [Benchmark(OperationsPerInvoke = Requests)]
    public int Get_batch() => Drain(_get);

    /// <summary>The same SET batch in 4 KB segments, as a socket pipe delivers it: some requests span two.</summary>
    [Benchmark(OperationsPerInvoke = Requests)]
    public int Set_batch_in_4k_segments() => Drain(_setSegmented);

    private int Drain(ReadOnlySequence<byte> buffer)
    {
        var n = 0;
        while (_parser.TryParse(ref buffer, out var request) == ParseStatus.Done)
            n += request.Count;
        return n;
    }
}

/// <summary>Builds multi-segment sequences.</summary>
internal static class Segments
{
    public static ReadOnlySequence<byte> Split(byte[] data, int size)
    {
        Segment? first = null, last = null;
        for (var offset = 0; offset < data.Length; offset += size)
        {
            var chunk = data.AsMemory(offset, Math.Min(size, data.Length - offset));
            var segment = new Segment(chunk, last?.RunningIndex + last?.Memory.Length ?? 0);
            if (last is null)
                first = segment;
            else
                last.Next = segment;
            last = segment;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public new Segment? Next
        {
            get => (Segment?)base.Next;
            set => base.Next = value;
        }
    }
}

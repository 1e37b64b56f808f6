using System.Buffers;
using BenchmarkDotNet.Attributes;
using Estoraje.Resp;

namespace Estoraje.Benchmarks.Resp;

/// <summary>Reply encoding: the replies of GET (100-byte bulk), INCR (integer) and SET (+OK).</summary>
[MemoryDiagnoser]
public class WriterBenchmarks
{
    private const int Replies = 1000;
    private readonly ArrayBufferWriter<byte> _buffer = new(256 * 1024);
    private readonly byte[] _value = new byte[100];
    private RespWriter _writer = null!;

    [GlobalSetup]
    public void Setup() => _writer = new RespWriter(_buffer);

    [Benchmark(OperationsPerInvoke = Replies)]
    public int Bulk_100_bytes()
    {
        _buffer.ResetWrittenCount();
        for (var i = 0; i < Replies; i++)
            _writer.WriteBulkString(_value);
        return _buffer.WrittenCount;
    }

    [Benchmark(OperationsPerInvoke = Replies)]
    public int Integer()
    {
        _buffer.ResetWrittenCount();
        for (var i = 0; i < Replies; i++)
            _writer.WriteInteger(i * 7919L);
        return _buffer.WrittenCount;
    }

    [Benchmark(OperationsPerInvoke = Replies)]
    public int Ok()
    {
        _buffer.ResetWrittenCount();
        for (var i = 0; i < Replies; i++)
            _writer.WriteOk();
        return _buffer.WrittenCount;
    }
}

using System.Text;
using BenchmarkDotNet.Attributes;
using Estoraje.Storage;
using Estoraje.Storage.Log;

namespace Estoraje.Benchmarks.Storage;

/// <summary>
/// One compaction after 32 MB of rewrites of random keys among 100,000 keys of 100 bytes (as
/// <c>redis-benchmark -r 100000</c>), beside <see cref="ColdKeys"/> keys never rewritten: the sealed segments past
/// half dead are rewritten, their live records found by reading them through, or from the key directory (a walk
/// over every entry, cold ones included). Sets the store's <see cref="LogStore.WalkBytesPerEntry"/>: the bytes
/// read through in the time of one entry walked.
/// </summary>
public class CompactionBenchmarks
{
    private const long RewriteBytes = 32L << 20;
    private const int HotKeys = 100_000;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "estoraje-bench-" + Guid.NewGuid().ToString("N"));
    private readonly byte[] _value = new byte[100];
    private readonly Random _random = new(1);
    private LogStore? _store;
    private byte[][] _keys = [];

    [Params(0, 1_000_000)]
    public int ColdKeys { get; set; }

    [Params(false, true)]
    public bool FromDirectory { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _store = LogStore.Open(new LogStoreOptions
        {
            Directory = _dir, Fsync = FsyncPolicy.No, SegmentSize = 16L << 20, CacheBytes = 0, CompactionBytesPerSecond = 0,
            CompactionSource = FromDirectory ? CompactionSource.Directory : CompactionSource.Segments,
        });
        for (var i = 0; i < ColdKeys; i++)
            _store.SetString(Encoding.ASCII.GetBytes($"cold:{i:D12}"), _value, _value.Length, 0);
        _keys = Enumerable.Range(0, HotKeys).Select(i => Encoding.ASCII.GetBytes($"key:{i:D12}")).ToArray();
        foreach (var key in _keys)
            _store.SetString(key, _value, _value.Length, 0);
    }

    [IterationSetup]
    public void Rewrite()
    {
        var record = RecordFormat.RecordSize(_keys[0].Length, _value.Length);
        for (long written = 0; written < RewriteBytes; written += record)
            _store!.SetString(_keys[_random.Next(HotKeys)], _value, _value.Length, 0);
        // Seals the active segment without compacting (no segment is more than wholly dead).
        _store!.Compact(1.1, sealActive: true);
    }

    [Benchmark]
    [InvocationCount(1)]
    public int Compact() => _store!.Compact(0.5).Segments;

    [GlobalCleanup]
    public void Cleanup()
    {
        _store?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}

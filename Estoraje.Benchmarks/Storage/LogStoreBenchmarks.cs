using System.Text;
using BenchmarkDotNet.Attributes;
using Estoraje.Storage;
using Estoraje.Storage.Log;

namespace Estoraje.Benchmarks.Storage;

/// <summary>
/// The log store on 100k keys of 100 bytes (appendfsync no): GET served by the hot-value cache, GET read from
/// the segment file (a cache too small to hold the keys), SET overwrite (an append and a directory update).
/// </summary>
[MemoryDiagnoser]
public class LogStoreBenchmarks
{
    private const int Keys = 100_000;
    private readonly string _hotDir = Path.Combine(Path.GetTempPath(), "estoraje-bench-" + Guid.NewGuid().ToString("N"));
    private readonly string _coldDir = Path.Combine(Path.GetTempPath(), "estoraje-bench-" + Guid.NewGuid().ToString("N"));
    private LogStore? _hot;
    private LogStore? _cold;
    private byte[][] _keys = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _hot = LogStore.Open(new LogStoreOptions { Directory = _hotDir, Fsync = FsyncPolicy.No, CacheBytes = 256L << 20 });
        _cold = LogStore.Open(new LogStoreOptions { Directory = _coldDir, Fsync = FsyncPolicy.No, CacheBytes = 0 });
        _keys = new byte[Keys][];
        for (var i = 0; i < Keys; i++)
        {
            _keys[i] = Encoding.ASCII.GetBytes($"key:{i:D12}");
            _hot.SetString(_keys[i], new byte[100], 100, 0);
            _cold.SetString(_keys[i], new byte[100], 100, 0);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _hot?.Dispose();
        _cold?.Dispose();
        Directory.Delete(_hotDir, recursive: true);
        Directory.Delete(_coldDir, recursive: true);
    }

    [Benchmark]
    public int Get_cached()
    {
        var key = _keys[_next++ % Keys];
        return _hot!.TryGet(key, out var value) ? value.Length : 0;
    }

    [Benchmark]
    public int Get_from_disk()
    {
        var key = _keys[_next++ % Keys];
        return _cold!.TryGet(key, out var value) ? value.Length : 0;
    }

    [Benchmark]
    public void Set_overwrite()
    {
        var key = _keys[_next++ % Keys];
        _hot!.SetString(key, new byte[100], 100, 0);
    }
}

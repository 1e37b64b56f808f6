using System.Text;
using BenchmarkDotNet.Attributes;
using Estoraje.Storage;
using Estoraje.Storage.Memory;

namespace Estoraje.Benchmarks.Storage;

/// <summary>The in-memory store on 100k keys of 100 bytes: GET hit (no allocation), GET miss, SET overwrite.</summary>
[MemoryDiagnoser]
public class MemoryStoreBenchmarks
{
    private const int Keys = 100_000;
    private readonly MemoryStore _store = new();
    private byte[][] _keys = [];
    private readonly byte[] _missing = Encoding.ASCII.GetBytes("missing:key:000");
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _keys = new byte[Keys][];
        for (var i = 0; i < Keys; i++)
        {
            _keys[i] = Encoding.ASCII.GetBytes($"key:{i:D12}");
            _store.SetString(_keys[i], new byte[100], 100, 0);
        }
    }

    [Benchmark]
    public int Get_hit()
    {
        var key = _keys[_next++ % Keys];
        return _store.TryGet(key, out var value) ? value.Length : 0;
    }

    [Benchmark]
    public bool Get_miss() => _store.TryGet(_missing, out _);

    [Benchmark]
    public void Set_overwrite()
    {
        var key = _keys[_next++ % Keys];
        _store.SetString(key, new byte[100], 100, 0);
    }
}

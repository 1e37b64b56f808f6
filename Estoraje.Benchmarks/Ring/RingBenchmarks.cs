using System.Text;
using BenchmarkDotNet.Attributes;
using Estoraje.Ring;

namespace Estoraje.Benchmarks.Ring;

/// <summary>Routing cost per request: key → slot → replica set (target under 50 ns, no allocation).</summary>
[MemoryDiagnoser]
public class RoutingBenchmarks
{
    private readonly byte[] _key16 = Encoding.ASCII.GetBytes("user:00000001234");
    private readonly byte[] _key100 = Encoding.ASCII.GetBytes("session:" + new string('x', 92));
    private HashRing _ring = null!;

    [GlobalSetup]
    public void Setup() => _ring = HashRing.Build(Enumerable.Range(0, 5).Select(i => new RingMember($"node-{i}")));

    [Benchmark]
    public int KeySlot_16_bytes() => KeySlot.Of(_key16);

    [Benchmark]
    public int KeySlot_100_bytes() => KeySlot.Of(_key100);

    [Benchmark]
    public int Route_16_byte_key() => _ring.ReplicasOf(KeySlot.Of(_key16))[0];

    [Benchmark]
    public int Route_100_byte_key() => _ring.ReplicasOf(KeySlot.Of(_key100))[0];
}

/// <summary>Building the slot table for a member list (done on every membership change).</summary>
[MemoryDiagnoser]
public class RingBuildBenchmarks
{
    private RingMember[] _members = [];

    [Params(3, 32, 100)]
    public int Members { get; set; }

    [GlobalSetup]
    public void Setup() => _members = [.. Enumerable.Range(0, Members).Select(i => new RingMember($"node-{i}"))];

    [Benchmark]
    public HashRing Build() => HashRing.Build(_members);
}

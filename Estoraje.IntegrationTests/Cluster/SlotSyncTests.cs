using System.Globalization;
using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>
/// Slot sync with three fixed members (N=3, W=2), each with its own data directory: a node that was down while
/// the others took writes and deletes pulls what it missed when it comes back, and every copy of every slot
/// ends up equal (ESTORAJE DIGEST).
/// </summary>
public sealed class SlotSyncTests : IAsyncLifetime
{
    private const string Secret = "sync-secret";
    private readonly StaticMembers _members = new(3, Secret);
    private readonly string[] _dirs = [.. Enumerable.Range(0, 3).Select(_ => ClusterNodes.NewDataDir())];
    private readonly EstorajeServerProcess?[] _nodes = new EstorajeServerProcess?[3];

    public async Task InitializeAsync()
    {
        for (var i = 0; i < 3; i++)
            _nodes[i] = await StartAsync(i);
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            if (node is not null)
                await node.DisposeAsync();
        }

        foreach (var dir in _dirs)
            ClusterNodes.DeleteDir(dir);
    }

    [Fact]
    public async Task A_node_back_from_downtime_pulls_the_writes_and_deletes_it_missed_and_all_copies_end_equal()
    {
        const int Keys = 300;
        var expected = new string?[Keys];
        await using (var client = await RespConnection.ConnectAsync(_members.Ports[0].Client))
        {
            for (var i = 0; i < Keys; i++)
            {
                Assert.Equal("+OK\r\n", await client.CommandAsync("SET", Key(i), "a"));
                expected[i] = "a";
            }

            for (var i = 0; i < 30; i++)
            {
                Assert.Equal(":1\r\n", await client.CommandAsync("DEL", Key(i)));
                expected[i] = null;
            }
        }

        await _nodes[2]!.DisposeAsync();
        _nodes[2] = null;

        // Node 2 is down: writes whose primary is alive reach the two live copies; those it leads get -TRYAGAIN.
        var missed = new HashSet<int>();
        await using (var client = await RespConnection.ConnectAsync(_members.Ports[0].Client))
        {
            for (var i = 30; i < Keys; i++)
            {
                var reply = await client.CommandAsync("SET", Key(i), "b");
                Assert.True(reply == "+OK\r\n" || reply.StartsWith("-TRYAGAIN", StringComparison.Ordinal), reply);
                if (reply == "+OK\r\n")
                {
                    expected[i] = "b";
                    missed.Add(i);
                }
            }

            for (var i = 30; i < 60; i++)
            {
                var reply = await client.CommandAsync("DEL", Key(i));
                Assert.True(reply == ":1\r\n" || reply.StartsWith("-TRYAGAIN", StringComparison.Ordinal), reply);
                if (reply == ":1\r\n")
                {
                    expected[i] = null;
                    missed.Add(i);
                }
            }
        }

        Assert.InRange(missed.Count, 50, Keys);
        _nodes[2] = await StartAsync(2);
        await ClusterNodes.EventuallyAsync(
            async () => await ClusterNodes.InfoAsync(_members.Ports[2].Client, "estoraje_sync_slots_pending") == "0",
            TimeSpan.FromSeconds(30),
            async () => "node 2 still has slots to pull: " + await ClusterNodes.InfoAsync(_members.Ports[2].Client, "estoraje_sync_slots_pending"));

        // What it missed came by its own pulls, or from the others: hinted handoff (counted once delivered), or
        // pushes of their anti-entropy.
        await ClusterNodes.EventuallyAsync(async () => await CountAsync(0, "estoraje_hints_pending") + await CountAsync(1, "estoraje_hints_pending") == 0,
            TimeSpan.FromSeconds(20), () => Task.FromResult("hints still pending"));
        var pulled = await CountAsync(2, "estoraje_sync_keys_pulled");
        var given = await CountAsync(0, "estoraje_hints_delivered") + await CountAsync(1, "estoraje_hints_delivered") +
            await CountAsync(0, "estoraje_sync_keys_pushed") + await CountAsync(1, "estoraje_sync_keys_pushed");
        Assert.True(pulled + given >= missed.Count, $"node 2 pulled {pulled} records and was given {given}; it missed writes of {missed.Count} keys: {_nodes[2]!.Output}");
        // Per peer: what came from each of the two others adds up to the total.
        var peers = RespReply.AsMap(RespReply.AsMap(await ClusterNodes.CommandAsync(_members.Ports[2].Client, "ESTORAJE", "SYNC"))["peers"]);
        Assert.Equal(pulled, peers.Values.Sum(p => (long)RespReply.AsMap(p)["keys-pulled"]!));
        Assert.All(peers.Keys, id => Assert.Contains(id, new[] { "n0", "n1" }));

        var slots = new HashSet<long>();
        for (var i = 0; i < Keys; i++)
        {
            var want = expected[i] is null ? "$-1\r\n" : $"$1\r\n{expected[i]}\r\n";
            for (var node = 0; node < 3; node++)
                Assert.Equal(want, await LocalGetAsync(node, Key(i)));
            await using var any = await RespConnection.ConnectAsync(_members.Ports[i % 3].Client);
            Assert.Equal(want, await any.CommandAsync("GET", Key(i)));
            slots.Add((long)RespReply.AsMap(RespReply.Parse(await any.CommandAsync("ESTORAJE", "LOCATE", Key(i))))["slot"]!);
        }

        foreach (var slot in slots)
        {
            var digests = new List<string>();
            for (var node = 0; node < 3; node++)
            {
                var reply = RespReply.AsMap(await ClusterNodes.CommandAsync(_members.Ports[node].Client, "ESTORAJE", "DIGEST", slot.ToString(CultureInfo.InvariantCulture)));
                digests.Add($"{reply["keys"]}/{reply["digest"]}");
            }

            Assert.True(digests.Distinct().Count() == 1, $"slot {slot}: {string.Join(", ", digests)}");
        }
    }

    [Fact]
    public async Task A_replica_whose_files_were_damaged_while_it_was_down_is_repaired_when_it_comes_back()
    {
        const int Keys = 400;
        await using (var client = await RespConnection.ConnectAsync(_members.Ports[0].Client))
        {
            for (var i = 0; i < Keys; i++)
                Assert.Equal("+OK\r\n", await client.CommandAsync("SET", Key(i), new string('v', 200) + i.ToString(CultureInfo.InvariantCulture)));
            Assert.Equal(":1\r\n", await client.CommandAsync("DEL", Key(0)));
        }

        await _nodes[2]!.DisposeAsync();
        _nodes[2] = null;
        var written = new Dictionary<int, string>();
        await using (var client = await RespConnection.ConnectAsync(_members.Ports[0].Client))
        {
            for (var i = 1; i < Keys; i += 3)
            {
                if (await client.CommandAsync("SET", Key(i), "changed") == "+OK\r\n")
                    written[i] = "changed";
            }
        }

        // While it is down: its segments lose their second half and a stretch in the middle is overwritten.
        foreach (var segment in Directory.GetFiles(_dirs[2], "*.seg"))
        {
            var bytes = await File.ReadAllBytesAsync(segment);
            Array.Fill(bytes, (byte)0xAB, bytes.Length / 4, Math.Min(4096, bytes.Length / 8));
            await File.WriteAllBytesAsync(segment, bytes[..(bytes.Length / 2)]);
        }

        foreach (var hint in Directory.GetFiles(_dirs[2], "*.hint"))
            File.Delete(hint);

        _nodes[2] = await StartAsync(2);
        await ClusterNodes.EventuallyAsync(
            async () => await ClusterNodes.InfoAsync(_members.Ports[2].Client, "estoraje_sync_slots_pending") == "0",
            TimeSpan.FromSeconds(30),
            async () => "node 2 still has slots to pull: " + await ClusterNodes.InfoAsync(_members.Ports[2].Client, "estoraje_sync_slots_pending"));

        for (var i = 0; i < Keys; i++)
        {
            var want = i == 0 ? "$-1\r\n" : written.TryGetValue(i, out var value) ? $"${value.Length}\r\n{value}\r\n"
                : $"${200 + i.ToString(CultureInfo.InvariantCulture).Length}\r\n{new string('v', 200)}{i}\r\n";
            Assert.Equal(want, await LocalGetAsync(2, Key(i)));
        }
    }

    private Task<EstorajeServerProcess> StartAsync(int node) =>
        _members.StartAsync(node, "--replicas", "3", "--write-quorum", "2", "--dir", _dirs[node]);

    private Task<long> CountAsync(int node, string field) => _members.InfoAsync(node, field);

    private Task<string> LocalGetAsync(int node, string key) => _members.LocalGetAsync(node, key);

    private static string Key(int i) => "sync:" + i.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// Anti-entropy (<c>--anti-entropy-interval 1</c>): copies that diverge while every node runs — here one replica is
/// handed records the others never saw, through its peer port — converge without anyone asking: the newest
/// record of each key wins everywhere, deletes included.
/// </summary>
public sealed class AntiEntropyTests : IAsyncLifetime
{
    private const string Secret = "entropy-secret";
    private readonly StaticMembers _members = new(3, Secret);
    private readonly List<EstorajeServerProcess> _nodes = [];

    public async Task InitializeAsync()
    {
        for (var i = 0; i < 3; i++)
            _nodes.Add(await _members.StartAsync(i, "--replicas", "3", "--write-quorum", "2", "--anti-entropy-interval", "1"));
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
            await node.DisposeAsync();
    }

    [Fact]
    public async Task The_bandwidth_cap_changes_at_run_time_and_the_background_part_pauses_and_resumes()
    {
        var port = _members.Ports[0].Client;
        Assert.Equal("OK", await ClusterNodes.CommandAsync(port, "CONFIG", "SET", "sync-max-bytes-per-sec", "1mb"));
        Assert.Equal(new List<object?> { "sync-max-bytes-per-sec", "1048576" }, await ClusterNodes.CommandAsync(port, "CONFIG", "GET", "sync-max-bytes-per-sec"));
        Assert.Equal(1048576L, RespReply.AsMap(await ClusterNodes.CommandAsync(port, "ESTORAJE", "SYNC"))["max-bytes-per-sec"]);

        Assert.Equal("OK", await ClusterNodes.CommandAsync(port, "ESTORAJE", "SYNC", "PAUSE"));
        Assert.Equal(1L, RespReply.AsMap(await ClusterNodes.CommandAsync(port, "ESTORAJE", "SYNC"))["paused"]);
        Assert.Equal("OK", await ClusterNodes.CommandAsync(port, "ESTORAJE", "SYNC", "RESUME"));
        Assert.Equal(0L, RespReply.AsMap(await ClusterNodes.CommandAsync(port, "ESTORAJE", "SYNC"))["paused"]);
        Assert.StartsWith("ERR syntax error", ((RespError)(await ClusterNodes.CommandAsync(port, "ESTORAJE", "SYNC", "STOP"))!).Message, StringComparison.Ordinal);
        Assert.Equal("OK", await ClusterNodes.CommandAsync(port, "CONFIG", "SET", "sync-max-bytes-per-sec", "0"));
    }

    [Fact]
    public async Task Records_only_one_replica_holds_reach_every_copy_and_a_newer_delete_wins()
    {
        await using (var client = await RespConnection.ConnectAsync(_members.Ports[0].Client))
        {
            for (var i = 0; i < 20; i++)
                Assert.Equal("+OK\r\n", await client.CommandAsync("SET", $"entropy:{i}", "old"));
        }

        // Node 2 alone gets newer records: values for keys 0..9, deletes of keys 10..19, and a key nobody has.
        var future = ((DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 1_577_836_800_000 + 60_000) << 22).ToString(CultureInfo.InvariantCulture);
        await using (var peer = await RespConnection.ConnectAsync(_members.Ports[2].Peer))
        {
            Assert.Equal("+OK\r\n", await peer.CommandAsync("ESTORAJE.PEER", Secret));
            for (var i = 0; i < 10; i++)
                Assert.Equal(":1\r\n", await peer.CommandAsync("ESTORAJE.APPLY", $"entropy:{i}", future, "1", "0", "new"));
            for (var i = 10; i < 20; i++)
                Assert.Equal(":1\r\n", await peer.CommandAsync("ESTORAJE.APPLY", $"entropy:{i}", future, "0", "0"));
            Assert.Equal(":1\r\n", await peer.CommandAsync("ESTORAJE.APPLY", "entropy:only-on-2", future, "1", "0", "lonely"));
        }

        await ClusterNodes.EventuallyAsync(
            async () =>
            {
                for (var node = 0; node < 3; node++)
                {
                    for (var i = 0; i < 20; i++)
                    {
                        if (await LocalGetAsync(node, $"entropy:{i}") != (i < 10 ? "$3\r\nnew\r\n" : "$-1\r\n"))
                            return false;
                    }

                    if (await LocalGetAsync(node, "entropy:only-on-2") != "$6\r\nlonely\r\n")
                        return false;
                }

                return true;
            },
            TimeSpan.FromSeconds(20),
            async () => $"not converged: node 0 has entropy:0 = {await LocalGetAsync(0, "entropy:0")}, entropy:10 = {await LocalGetAsync(0, "entropy:10")}");
        Assert.True(await _members.InfoAsync(0, "estoraje_sync_keys_pulled") +
            await _members.InfoAsync(1, "estoraje_sync_keys_pulled") > 0);
    }

    private Task<string> LocalGetAsync(int node, string key) => _members.LocalGetAsync(node, key);
}

/// <summary>
/// Hinted handoff: while a replica is down, the records it misses wait on the nodes that wrote them and are
/// delivered once it answers again.
/// </summary>
public sealed class HintedHandoffTests : IAsyncLifetime
{
    private const string Secret = "hint-secret";
    private readonly StaticMembers _members = new(3, Secret);
    private readonly EstorajeServerProcess?[] _nodes = new EstorajeServerProcess?[3];

    public async Task InitializeAsync()
    {
        for (var i = 0; i < 3; i++)
            _nodes[i] = await StartAsync(i);
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            if (node is not null)
                await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task Records_a_down_replica_missed_are_kept_and_delivered_when_it_is_back()
    {
        await _nodes[2]!.DisposeAsync();
        _nodes[2] = null;
        var written = new List<int>();
        await using (var client = await RespConnection.ConnectAsync(_members.Ports[0].Client))
        {
            for (var i = 0; i < 60; i++)
            {
                if (await client.CommandAsync("SET", $"hint:{i}", "v") == "+OK\r\n")
                    written.Add(i);
            }
        }

        Assert.NotEmpty(written);
        await ClusterNodes.EventuallyAsync(async () => await PendingAsync() >= written.Count, TimeSpan.FromSeconds(10),
            async () => $"{await PendingAsync()} hints for {written.Count} writes");

        _nodes[2] = await StartAsync(2);
        await ClusterNodes.EventuallyAsync(async () => await PendingAsync() == 0, TimeSpan.FromSeconds(20),
            async () => $"{await PendingAsync()} hints still pending");
        var delivered = 0L;
        for (var node = 0; node < 2; node++)
            delivered += await _members.InfoAsync(node, "estoraje_hints_delivered");
        Assert.True(delivered >= written.Count, $"{delivered} hints delivered for {written.Count} writes");

        await using var link = await RespConnection.ConnectAsync(_members.Ports[2].Peer);
        Assert.Equal("+OK\r\n", await link.CommandAsync("ESTORAJE.PEER", Secret));
        foreach (var i in written)
            Assert.Equal("$1\r\nv\r\n", await link.CommandAsync("GET", $"hint:{i}"));
    }

    private async Task<long> PendingAsync()
    {
        long total = 0;
        for (var node = 0; node < 2; node++)
            total += await _members.InfoAsync(node, "estoraje_hints_pending");
        return total;
    }

    private Task<EstorajeServerProcess> StartAsync(int node) =>
        _members.StartAsync(node, "--replicas", "3", "--write-quorum", "2", "--anti-entropy-interval", "0");
}

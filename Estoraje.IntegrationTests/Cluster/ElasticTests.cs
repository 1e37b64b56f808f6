using System.Globalization;
using System.Text;
using Estoraje.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>
/// A cluster that changes size under a mixed read/write/delete load through HAProxy, with a real etcd: grows
/// 3 → 4 → 5 (new nodes join, pull their slots, turn ready) and shrinks back to 3 (ESTORAJE LEAVE). Clients see
/// no error, every acknowledged write stays readable, deleted keys stay deleted, and every slot ends with N equal
/// copies.
/// </summary>
public sealed class ElasticTests(ITestOutputHelper output) : EtcdClusterTest(5, "elastic", "--replicas", "3", "--write-quorum", "2", "--drop-grace", "1")
{
    private const int Replicas = 3;

    public override async Task InitializeAsync()
    {
        Etcd = await EtcdProcess.StartAsync();
        for (var i = 0; i < 3; i++)
            await StartNodeAsync(i);
        await WaitForRingAsync(3);
        // The load balancer fronts the three nodes that stay; the others join and leave behind it.
        Proxy = await HaproxyProcess.StartAsync(Nodes.Take(3).Select(n => n!.Port));
    }

    [Fact]
    public async Task Growing_3_to_5_and_shrinking_back_to_3_under_load_loses_nothing_and_clients_see_no_error()
    {
        var grow = WriteLoad.Start(Proxy!.Port, writers: 4, prefix: "grow", mixed: true);
        await grow.WaitForSuccessesAsync(300, TimeSpan.FromSeconds(20));
        for (var i = 3; i < 5; i++)
        {
            await StartNodeAsync(i);
            await WaitForRingAsync(i + 1);
            await grow.WaitForSuccessesAsync(200, TimeSpan.FromSeconds(20));
        }

        await CheckAsync(grow, members: 5);
        var shares = (await ClusterNodes.MembersAsync(Nodes[0]!.Port)).Select(m => (long)m["primary-slots"]!).ToList();
        Assert.All(shares, share => Assert.InRange(share, 16384 / 5 * 0.85, 16384 / 5 * 1.15));

        var shrink = WriteLoad.Start(Proxy.Port, writers: 4, prefix: "shrink", mixed: true);
        await shrink.WaitForSuccessesAsync(300, TimeSpan.FromSeconds(20));
        for (var i = 4; i >= 3; i--)
        {
            Assert.Equal("OK", await ClusterNodes.CommandAsync(Nodes[i]!.Port, "ESTORAJE", "LEAVE"));
            Assert.Equal(0, await Nodes[i]!.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            await Nodes[i]!.DisposeAsync();
            Nodes[i] = null;
            await WaitForRingAsync(i);
            await shrink.WaitForSuccessesAsync(200, TimeSpan.FromSeconds(20));
        }

        await CheckAsync(shrink, members: 3);
        // What the first load wrote and deleted survived the shrink too.
        await AssertReadableAsync(grow);
    }

    [Fact]
    public async Task A_killed_node_of_four_has_its_copies_restored_by_the_survivors_and_catches_up_when_restarted()
    {
        await StartNodeAsync(3);
        await WaitForRingAsync(4);
        var load = WriteLoad.Start(Proxy!.Port, writers: 4, prefix: "crash", mixed: true);
        await load.WaitForSuccessesAsync(300, TimeSpan.FromSeconds(20));

        await KillAsync(3); // kill -9; nothing is restarted: the survivors restore three copies
        await WaitForRingAsync(3);
        await load.WaitForSuccessesAsync(300, TimeSpan.FromSeconds(20));
        await load.DisposeAsync();
        output.WriteLine($"{load.Successes} operations acknowledged, {load.Failures} failed (the dead node's slots until its lease expired)");
        Assert.Empty(load.WrongReads);
        await AssertReadableAsync(load);
        await AssertSlotsAsync(3);

        // Back with its old data: it joins again, catches up, and every slot has three equal copies.
        await StartNodeAsync(3);
        await WaitForRingAsync(4);
        await AssertSlotsAsync(4);
        await AssertReadableAsync(load);
    }

    [Fact]
    public async Task Two_nodes_join_at_once_and_one_killed_while_joining_joins_again_when_restarted()
    {
        await using (var client = await RespConnection.ConnectAsync(Proxy!.Port))
        {
            var batch = new List<byte>();
            for (var i = 0; i < 20000; i++)
                batch.AddRange(RespConnection.Encode("SET", $"pair:{i}", new string('p', 100)));
            await client.SendAsync(batch.ToArray());
            for (var i = 0; i < 20000; i++)
                Assert.Equal("+OK\r\n", await client.ReadReplyAsync(TimeSpan.FromSeconds(30)));
        }

        var joining = new[] { StartNodeAsync(3), StartNodeAsync(4) };
        await Task.WhenAll(joining);
        // Node 4 dies while the two pull: its lease expires, and the cluster goes on without it.
        await KillAsync(4);
        await WaitForRingAsync(4);
        await AssertSlotsAsync(4);

        await StartNodeAsync(4);
        await WaitForRingAsync(5);
        await AssertSlotsAsync(5);
        await using var reader = await RespConnection.ConnectAsync(Proxy.Port);
        for (var i = 0; i < 20000; i += 97)
            Assert.Equal($"$100\r\n{new string('p', 100)}\r\n", await reader.CommandAsync("GET", $"pair:{i}"));
    }

    [Fact]
    public async Task Sigterm_with_leave_on_shutdown_hands_the_slots_over_before_the_node_exits()
    {
        await StartNodeAsync(3, "--leave-on-shutdown", "true");
        await WaitForRingAsync(4);
        var load = WriteLoad.Start(Proxy!.Port, writers: 4, prefix: "sigterm", mixed: true);
        await load.WaitForSuccessesAsync(500, TimeSpan.FromSeconds(20));

        using (var term = System.Diagnostics.Process.Start("kill", ["-TERM", Nodes[3]!.ProcessId.ToString(CultureInfo.InvariantCulture)]))
            await term.WaitForExitAsync();
        Assert.Equal(0, await Nodes[3]!.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("handing its slots over first", Nodes[3]!.Output, StringComparison.Ordinal);
        await Nodes[3]!.DisposeAsync();
        Nodes[3] = null;
        await WaitForRingAsync(3);
        await load.WaitForSuccessesAsync(200, TimeSpan.FromSeconds(20));
        await CheckAsync(load, members: 3);
    }

    // Stops the load, then: no client error, no wrong read, every acknowledged write readable, every deleted key
    // gone, and every slot held by N nodes with equal copies.
    private async Task CheckAsync(WriteLoad load, int members)
    {
        await load.DisposeAsync();
        output.WriteLine($"{members} members: {load.Successes} operations acknowledged, {load.Failures} failed, {load.Deleted.Count} keys deleted");
        foreach (var failure in load.FailureTexts.Take(20))
            output.WriteLine(failure);
        Assert.Empty(load.WrongReads);
        Assert.Equal(0, load.Failures);
        await AssertReadableAsync(load);
        await AssertSlotsAsync(members);
    }

    private async Task AssertReadableAsync(WriteLoad load)
    {
        await using var client = await RespConnection.ConnectAsync(Proxy!.Port);
        foreach (var (key, value) in load.Acknowledged)
            Assert.Equal($"${value.Length}\r\n{value}\r\n", await client.CommandAsync("GET", key));
        foreach (var key in load.Deleted.Keys)
            Assert.Equal("$-1\r\n", await client.CommandAsync("GET", key));
    }

    // Every running node routes with a ring of `members` ready members, none joining or leaving.
    private Task WaitForRingAsync(int members) =>
        ClusterNodes.EventuallyAsync(
            async () =>
            {
                foreach (var node in Running)
                {
                    var sync = RespReply.AsMap(await ClusterNodes.CommandAsync(node.Port, "ESTORAJE", "SYNC"));
                    if (await ClusterNodes.InfoAsync(node.Port, "estoraje_ring_members") != members.ToString(CultureInfo.InvariantCulture) ||
                        (long)sync["in-transition"]! != 0 || (string)sync["state"]! != "ready" || (long)sync["slots-pending"]! != 0)
                        return false;
                }

                return true;
            },
            TimeSpan.FromSeconds(60),
            async () =>
            {
                var states = new List<string>();
                foreach (var node in Running)
                {
                    var sync = RespReply.AsMap(await ClusterNodes.CommandAsync(node.Port, "ESTORAJE", "SYNC"));
                    states.Add($"{node.Port}: ring {await ClusterNodes.InfoAsync(node.Port, "estoraje_ring_members")}, {string.Join(", ", sync.Select(kv => $"{kv.Key}={kv.Value}"))}");
                }

                return $"the ring did not settle at {members} members: {string.Join(" | ", states)}";
            });

    // Every slot is held by exactly N running nodes (roles from ESTORAJE DIGEST), whose copies are equal.
    private async Task AssertSlotsAsync(int members)
    {
        var description = "";
        await ClusterNodes.EventuallyAsync(
            async () =>
            {
                var perNode = new List<(string Role, string Digest)[]>();
                foreach (var node in Running)
                    perNode.Add(await SlotDigestsAsync(node.Port));
                var bad = new List<string>();
                for (var slot = 0; slot < 16384 && bad.Count < 3; slot++)
                {
                    var holders = perNode.Where(n => n[slot].Role != "none").Select(n => n[slot].Digest).ToList();
                    // A node that no longer holds a slot dropped its data (--drop-grace 1).
                    var leftovers = perNode.Count(n => n[slot].Role == "none" && n[slot].Digest != "0/0000000000000000");
                    if (holders.Count != Math.Min(Replicas, members) || holders.Distinct().Count() != 1 || leftovers > 0)
                        bad.Add($"slot {slot}: [{string.Join(", ", perNode.Select(n => $"{n[slot].Role} {n[slot].Digest}"))}]");
                }

                description = string.Join("; ", bad);
                if (bad.Count > 0)
                    description += await ListSlotAsync(int.Parse(bad[0].Split(' ', ':')[1], CultureInfo.InvariantCulture));
                return bad.Count == 0;
            },
            TimeSpan.FromSeconds(20),
            () => Task.FromResult(description));
    }

    // Each node's listing of one slot (keys, versions), for the failure message.
    private async Task<string> ListSlotAsync(int slot)
    {
        var text = new StringBuilder();
        foreach (var node in Running)
        {
            var members = await ClusterNodes.MembersAsync(node.Port);
            var self = members.Single(m => (long)m["self"]! == 1);
            var peer = (string)self["peer-address"]!;
            await using var link = await RespConnection.ConnectAsync(int.Parse(peer[(peer.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture));
            await link.CommandAsync("ESTORAJE.PEER", "");
            text.Append($" | node {node.Port}: {(await link.CommandAsync("ESTORAJE.SLOTSCAN", slot.ToString(CultureInfo.InvariantCulture), "0", "1000")).Replace("\r\n", " ", StringComparison.Ordinal)}");
            text.Append(string.Join(" / ", node.Output.Split('\n').Where(l => l.Contains("warn", StringComparison.Ordinal) || l.Contains("fail", StringComparison.Ordinal)).Take(5)));
        }

        return text.ToString();
    }
}

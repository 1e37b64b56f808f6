using System.Globalization;
using Estoraje.Resp;
using Estoraje.Ring;
using Estoraje.Server.Cluster;
using Estoraje.Server.Network;

namespace Estoraje.Server.Commands;

/// <summary>
/// ESTORAJE subcommands: the cluster as this node sees it. Replies are maps (flat arrays in RESP2) with
/// dashed field names, as Redis's CLUSTER SHARDS, so they read well in redis-cli and in any client.
/// </summary>
internal static class EstorajeCommands
{
    /// <summary>Every registered member, ordered by id, with the slots it holds in the current ring.</summary>
    public static void Members(ClientSession client, RespRequest request)
    {
        var view = client.Server.Membership.Current;
        var counts = SlotCounts.Of(view.Ring);
        var w = client.Writer;
        w.WriteArrayHeader(view.Members.Count);
        foreach (var member in view.Members)
        {
            var index = view.Ring.IndexOf(member.Id);
            w.WriteMapHeader(9);
            w.WriteBulkString("id");
            w.WriteBulkString(member.Id);
            w.WriteBulkString("client-address");
            w.WriteBulkString(member.ClientAddress);
            w.WriteBulkString("peer-address");
            w.WriteBulkString(member.PeerAddress);
            w.WriteBulkString("state");
            w.WriteBulkString(member.State);
            w.WriteBulkString("weight");
            w.WriteBulkString(member.Weight.ToString("R", CultureInfo.InvariantCulture));
            w.WriteBulkString("zone");
            w.WriteBulkString(member.Zone ?? "");
            w.WriteBulkString("self");
            w.WriteInteger(member.Id == view.SelfId ? 1 : 0);
            w.WriteBulkString("primary-slots");
            w.WriteInteger(index < 0 ? 0 : counts.Primary[index]);
            w.WriteBulkString("replica-slots");
            w.WriteInteger(index < 0 ? 0 : counts.Replica[index]);
        }
    }

    /// <summary>Where a key lives: its slot, the slot's primary and its other replicas, in ring order.</summary>
    public static void Locate(ClientSession client, RespRequest request)
    {
        var ring = client.Server.Membership.Current.Ring;
        var slot = KeySlot.Of(request[2]);
        var replicas = ring.ReplicasOf(slot);
        var w = client.Writer;
        w.WriteMapHeader(3);
        w.WriteBulkString("slot");
        w.WriteInteger(slot);
        w.WriteBulkString("primary");
        w.WriteBulkString(ring.Members[replicas[0]].Id);
        w.WriteBulkString("replicas");
        w.WriteArrayHeader(replicas.Length - 1);
        foreach (var index in replicas[1..])
            w.WriteBulkString(ring.Members[index].Id);
    }

    /// <summary>The ring: its epoch, its members and how many slots each holds.</summary>
    public static void RingInfo(ClientSession client, RespRequest request)
    {
        var view = client.Server.Membership.Current;
        var ring = view.Ring;
        var counts = SlotCounts.Of(ring);
        var w = client.Writer;
        w.WriteMapHeader(5);
        w.WriteBulkString("epoch");
        w.WriteInteger(view.Epoch);
        w.WriteBulkString("members");
        w.WriteInteger(ring.Members.Count);
        w.WriteBulkString("replicas");
        w.WriteInteger(ring.ReplicaCount);
        w.WriteBulkString("slots");
        w.WriteInteger(KeySlot.Count);
        w.WriteBulkString("nodes");
        w.WriteArrayHeader(ring.Members.Count);
        for (var i = 0; i < ring.Members.Count; i++)
        {
            w.WriteMapHeader(3);
            w.WriteBulkString("id");
            w.WriteBulkString(ring.Members[i].Id);
            w.WriteBulkString("primary-slots");
            w.WriteInteger(counts.Primary[i]);
            w.WriteBulkString("replica-slots");
            w.WriteInteger(counts.Replica[i]);
        }
    }

    /// <summary>
    /// ESTORAJE LEAVE: marks this node leaving. It keeps serving while the slots it holds are synced with their
    /// replicas in the ring without it, then deregisters and stops.
    /// </summary>
    public static void Leave(ClientSession client, RespRequest request)
    {
        var membership = client.Server.Membership;
        var view = membership.Current;
        if (!membership.Dynamic)
        {
            client.Writer.WriteError("ERR ESTORAJE LEAVE needs etcd membership (--etcd)");
            return;
        }

        if (view.SelfState == MemberStates.Leaving)
        {
            client.Writer.WriteOk();
            return;
        }

        if (!view.Members.Any(m => m.Id != view.SelfId && m.State == MemberStates.Ready))
        {
            client.Writer.WriteError("ERR no other ready member to hand this node's slots to");
            return;
        }

        client.Defer(ReplyAsync(membership.SetStateAsync(MemberStates.Leaving, CancellationToken.None), "ERR this node's registration changed or etcd is unreachable: try again"));
    }

    /// <summary>ESTORAJE FORGET node-id: removes a (dead) member's registration now instead of after its lease.</summary>
    public static void Forget(ClientSession client, RespRequest request)
    {
        var membership = client.Server.Membership;
        var id = request.GetString(2);
        if (!membership.Dynamic)
        {
            client.Writer.WriteError("ERR ESTORAJE FORGET needs etcd membership (--etcd)");
            return;
        }

        if (id == membership.Current.SelfId)
        {
            client.Writer.WriteError("ERR a node cannot forget itself: use ESTORAJE LEAVE or SHUTDOWN");
            return;
        }

        client.Defer(ReplyAsync(membership.ForgetAsync(id, CancellationToken.None), "ERR no such member"));
    }

    /// <summary>ESTORAJE SYNC [PAUSE|RESUME]: this node's slot sync progress; PAUSE and RESUME its background pulls.</summary>
    public static void Sync(ClientSession client, RespRequest request)
    {
        var server = client.Server;
        var sync = server.SlotSync;
        if (request.Count > 3)
        {
            client.Writer.WriteError(Errors.Syntax);
            return;
        }

        if (request.Count == 3)
        {
            var action = request.GetString(2).ToUpperInvariant();
            if (action is not ("PAUSE" or "RESUME"))
            {
                client.Writer.WriteError(Errors.Syntax);
                return;
            }

            sync?.Pause(action == "PAUSE");
            client.Writer.WriteOk();
            return;
        }

        var view = server.Membership.Current;
        var w = client.Writer;
        w.WriteMapHeader(14);
        w.WriteBulkString("paused");
        w.WriteInteger(sync?.Paused == true ? 1 : 0);
        w.WriteBulkString("anti-entropy-passes");
        w.WriteInteger(sync?.AntiEntropyPasses ?? 0);
        w.WriteBulkString("max-bytes-per-sec");
        w.WriteInteger(sync?.MaxBytesPerSecond ?? 0);
        w.WriteBulkString("rate-bytes-per-sec");
        w.WriteInteger(sync?.RecentBytesPerSecond ?? 0);
        w.WriteBulkString("eta-seconds");
        w.WriteInteger(sync?.EstimatedSecondsLeft ?? 0);
        w.WriteBulkString("state");
        w.WriteBulkString(view.SelfState);
        w.WriteBulkString("in-transition");
        w.WriteInteger(view.InTransition ? 1 : 0);
        w.WriteBulkString("slots-pending");
        w.WriteInteger(sync?.PendingSlots ?? 0);
        w.WriteBulkString("slots-closed");
        w.WriteInteger(server.Router.Gate.ClosedCount);
        w.WriteBulkString("slots-pulled");
        w.WriteInteger(sync?.SlotsPulled ?? 0);
        w.WriteBulkString("keys-pulled");
        w.WriteInteger(sync?.KeysPulled ?? 0);
        w.WriteBulkString("bytes-pulled");
        w.WriteInteger(sync?.BytesPulled ?? 0);
        w.WriteBulkString("keys-pushed");
        w.WriteInteger(sync?.KeysPushed ?? 0);
        var peers = sync?.PeerStats.OrderBy(p => p.Key, StringComparer.Ordinal).ToList() ?? [];
        w.WriteBulkString("peers");
        w.WriteMapHeader(peers.Count);
        foreach (var (id, stats) in peers)
        {
            w.WriteBulkString(id);
            w.WriteMapHeader(4);
            w.WriteBulkString("keys-pulled");
            w.WriteInteger(Interlocked.Read(ref stats.KeysPulled));
            w.WriteBulkString("bytes-pulled");
            w.WriteInteger(Interlocked.Read(ref stats.BytesPulled));
            w.WriteBulkString("keys-pushed");
            w.WriteInteger(Interlocked.Read(ref stats.KeysPushed));
            w.WriteBulkString("bytes-pushed");
            w.WriteInteger(Interlocked.Read(ref stats.BytesPushed));
        }
    }

    private static async Task<byte[]> ReplyAsync(Task<bool> change, string error)
    {
        try
        {
            return await change ? "+OK\r\n"u8.ToArray() : System.Text.Encoding.UTF8.GetBytes($"-{error}\r\n");
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return System.Text.Encoding.UTF8.GetBytes($"-ERR etcd: {ex.Message.ReplaceLineEndings(" ")}\r\n");
        }
    }

    public static void Help(ClientSession client, RespRequest request) => ServerCommands.WriteHelp(client, "ESTORAJE",
    [
        "MEMBERS",
        "    Return the cluster members: id, addresses, state, and the slots each holds as primary and as replica.",
        "LOCATE <key>",
        "    Return the slot of <key>, the id of its primary and the ids of its other replicas.",
        "RING",
        "    Return the ring epoch (etcd revision), its members and the slots each holds.",
        "DIGEST <slot>",
        "    Return the key count and digest of this node's copy of <slot>, and its role for the slot.",
        "SYNC [PAUSE|RESUME]",
        "    Return this node's slot sync progress; pause or resume its background pulls and anti-entropy.",
        "LEAVE",
        "    Hand this node's slots to the other members, then deregister and stop.",
        "FORGET <node-id>",
        "    Remove a dead member's registration at once.",
    ]);
}

/// <summary>Slots each ring member holds as primary and as a (non-primary) replica, indexed as the ring's members.</summary>
internal sealed class SlotCounts
{
    private SlotCounts(int[] primary, int[] replica)
    {
        Primary = primary;
        Replica = replica;
    }

    public int[] Primary { get; }

    public int[] Replica { get; }

    public static SlotCounts Of(HashRing ring)
    {
        var primary = new int[ring.Members.Count];
        var replica = new int[ring.Members.Count];
        for (var slot = 0; slot < KeySlot.Count; slot++)
        {
            var replicas = ring.ReplicasOf(slot);
            primary[replicas[0]]++;
            foreach (var index in replicas[1..])
                replica[index]++;
        }

        return new SlotCounts(primary, replica);
    }
}

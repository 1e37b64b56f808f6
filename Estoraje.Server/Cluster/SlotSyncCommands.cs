using System.Buffers.Text;
using Estoraje.Resp;
using Estoraje.Server.Commands;
using Estoraje.Server.Network;
using Estoraje.Storage;

namespace Estoraje.Server.Cluster;

/// <summary>
/// Slot sync, source side: the peer commands a puller (<see cref="SlotSync"/>) sends, and ESTORAJE DIGEST for
/// operators. Peer commands are refused to clients.
/// </summary>
internal static class SlotSyncCommands
{
    private const string NoSlotIndex = "ERR this node's store keeps no per-slot digests (--storage memory)";

    /// <summary>ESTORAJE.DIGESTS slot [slot ...]: for each slot, its live key count and digest (as a signed integer).</summary>
    public static void Digests(ClientSession client, RespRequest request)
    {
        if (!Check(client, out var index))
            return;
        Span<int> slots = request.Count - 1 <= 4096 ? stackalloc int[request.Count - 1] : new int[request.Count - 1];
        for (var i = 1; i < request.Count; i++)
        {
            if (!TryParseSlot(request[i], out slots[i - 1]))
            {
                client.Writer.WriteError(Errors.InvalidSlot);
                return;
            }
        }

        client.Writer.WriteArrayHeader(slots.Length * 2);
        foreach (var slot in slots)
        {
            var digest = index.GetSlotDigest(slot);
            client.Writer.WriteInteger(digest.Count);
            client.Writer.WriteInteger((long)digest.Digest);
        }
    }

    /// <summary>ESTORAJE.SLOTSCAN slot cursor count: [next cursor, [key, version, tombstone (0/1), ...]].</summary>
    public static void SlotScan(ClientSession client, RespRequest request)
    {
        if (!Check(client, out var index))
            return;
        if (!TryParseSlot(request[1], out var slot) || !Utf8Parser.TryParse(request[2], out ulong cursor, out var used) || used != request[2].Length ||
            !RespInteger.TryParse(request[3], out var count) || count <= 0)
        {
            client.Writer.WriteError(Errors.Syntax);
            return;
        }

        var entries = new List<SlotEntry>();
        cursor = index.ScanSlot(slot, cursor, (int)Math.Min(count, 100_000), entries);
        var w = client.Writer;
        w.WriteArrayHeader(2);
        w.WriteBulkString(cursor.ToString(System.Globalization.CultureInfo.InvariantCulture));
        w.WriteArrayHeader(entries.Count * 3);
        foreach (var entry in entries)
        {
            w.WriteBulkString(entry.Key);
            w.WriteInteger(entry.Version);
            w.WriteInteger(entry.Tombstone ? 1 : 0);
        }
    }

    /// <summary>ESTORAJE.FETCH key [key ...]: each key's record (value or tombstone, with its version), or a null array.</summary>
    public static void Fetch(ClientSession client, RespRequest request)
    {
        if (!Check(client, out _))
            return;
        client.Writer.WriteArrayHeader(request.Count - 1);
        for (var i = 1; i < request.Count; i++)
        {
            if (!Records.Write(client.Writer, client.Store, request[i]))
                client.Writer.WriteNullArray();
        }
    }

    /// <summary>ESTORAJE DIGEST slot: this node's copy of a slot, for comparing replicas by hand.</summary>
    public static void Digest(ClientSession client, RespRequest request)
    {
        if (client.Store is not ISlotIndex index)
        {
            client.Writer.WriteError(NoSlotIndex);
            return;
        }

        if (!TryParseSlot(request[2], out var slot))
        {
            client.Writer.WriteError(Errors.InvalidSlot);
            return;
        }

        var digest = index.GetSlotDigest(slot);
        var view = client.Server.Membership.Current;
        var position = view.SelfIndex < 0 ? -1 : view.Ring.ReplicasOf(slot).IndexOf(view.SelfIndex);
        var w = client.Writer;
        w.WriteMapHeader(4);
        w.WriteBulkString("slot");
        w.WriteInteger(slot);
        w.WriteBulkString("keys");
        w.WriteInteger(digest.Count);
        w.WriteBulkString("digest");
        w.WriteBulkString(digest.Digest.ToString("x16", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteBulkString("role");
        w.WriteBulkString(position switch { 0 => "primary", > 0 => "replica", _ => "none" });
    }

    private static bool Check(ClientSession client, out ISlotIndex index)
    {
        index = null!;
        if (!client.IsPeer)
        {
            client.Writer.WriteError("ERR slot sync commands are accepted from peers only");
            return false;
        }

        if (client.Store is not ISlotIndex slotIndex)
        {
            client.Writer.WriteError(NoSlotIndex);
            return false;
        }

        index = slotIndex;
        return true;
    }

    private static bool TryParseSlot(ReadOnlySpan<byte> text, out int slot)
    {
        slot = -1;
        if (!RespInteger.TryParse(text, out var value) || value is < 0 or >= Ring.KeySlot.Count)
            return false;
        slot = (int)value;
        return true;
    }
}

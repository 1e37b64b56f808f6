using System.Buffers;
using System.Globalization;
using Estoraje.Resp;
using Estoraje.Server.Commands;
using Estoraje.Server.Network;

namespace Estoraje.Server.Cluster;

/// <summary>
/// Runs a multi-key command (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH) whose keys live on several nodes: one
/// sub-command per node with that node's keys, run in parallel (this node's part here), the replies merged
/// into the one Redis would give. Atomicity across nodes is not promised, as in Redis Cluster.
/// </summary>
internal static class FanOut
{
    /// <summary>
    /// Runs the command and returns its merged reply, in the client's protocol. The part for this node runs
    /// before the first await, synchronously with the client's batch.
    /// </summary>
    public static async Task<byte[]> ExecuteAsync(ClientSession session, CommandDefinition command, byte[][] args)
    {
        var router = session.Server.Router;
        var view = router.Membership.Current;
        var result = new ArrayBufferWriter<byte>();
        var writer = new RespWriter(result) { Protocol = session.Writer.Protocol };
        if (command.FirstKey <= 0)
            await BroadcastAsync(session, writer, view, command, args);
        else
            await SplitAsync(session, writer, view, command, args);
        return result.WrittenSpan.ToArray();
    }

    private static async Task SplitAsync(ClientSession session, RespWriter writer, ClusterView view, CommandDefinition command, byte[][] args)
    {
        var router = session.Server.Router;

        var keysEnd = command.LastKey < 0 ? args.Length + command.LastKey : Math.Min(command.LastKey, args.Length - 1);

        var groups = new Dictionary<int, List<int>>();
        for (var i = command.FirstKey; i <= keysEnd; i += command.Step)
        {
            var member = view.Ring.PrimaryOf(Ring.KeySlot.Of(args[i]));
            if (!groups.TryGetValue(member, out var positions))
                groups[member] = positions = [];
            positions.Add(i);
        }

        var parts = new List<(List<int> Positions, Task<byte[]> Reply)>();
        foreach (var (member, positions) in groups)
        {
            var request = Encode(args, positions, command.Step);
            if (member == view.SelfIndex)
                continue;
            var target = view.ById[view.Ring.Members[member].Id];
            parts.Add((positions, router.ForwardAsync(target, request, session.Writer.Protocol)));
        }

        if (groups.TryGetValue(view.SelfIndex, out var local))
            parts.Add((local, RunHere(session, command, Encode(args, local, command.Step))));

        var replies = await GatherAsync(writer, parts);
        if (replies is not null)
            Merge(writer, Router.MergeOf(command), (args.Length - 1) / command.Step, command.FirstKey, command.Step, replies);
    }

    // Keyless commands about the whole keyspace: every node answers for the keys it holds.
    private static async Task BroadcastAsync(ClientSession session, RespWriter writer, ClusterView view, CommandDefinition command, byte[][] args)
    {
        var router = session.Server.Router;
        var kind = Router.BroadcastOf(command);
        if (kind == MergeKind.Scan)
        {
            await ScanAsync(session, writer, view, command, args);
            return;
        }

        var request = Encode(args, [], 0);
        var parts = new List<(List<int> Positions, Task<byte[]> Reply)>();
        for (var member = 0; member < view.Ring.Members.Count; member++)
        {
            if (member != view.SelfIndex)
                parts.Add(([], router.ForwardAsync(view.ById[view.Ring.Members[member].Id], request, session.Writer.Protocol)));
        }

        if (view.SelfIndex >= 0)
            parts.Add(([], RunHere(session, command, request)));
        var replies = await GatherAsync(writer, parts);
        if (replies is not null)
            Merge(writer, kind, 0, 0, 1, replies);
    }

    // SCAN over the cluster: the cursor carries the node being walked (low 10 bits) and that node's own
    // cursor; a node's walk ending moves to the next node, so every key present throughout is returned.
    private static async Task ScanAsync(ClientSession session, RespWriter writer, ClusterView view, CommandDefinition command, byte[][] args)
    {
        const int NodeBits = 10;
        var members = view.Ring.Members.Count;
        if (!ulong.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var cursor) || (int)(cursor & ((1 << NodeBits) - 1)) >= members)
        {
            writer.WriteError(Errors.InvalidCursor);
            return;
        }

        var member = (int)(cursor & ((1 << NodeBits) - 1));
        var local = (cursor >> NodeBits).ToString(CultureInfo.InvariantCulture);
        var request = Encode([args[0], System.Text.Encoding.ASCII.GetBytes(local), .. args[2..]], [], 0);
        var part = member == view.SelfIndex
            ? RunHere(session, command, request)
            : session.Server.Router.ForwardAsync(view.ById[view.Ring.Members[member].Id], request, session.Writer.Protocol);
        var replies = await GatherAsync(writer, [([], part)]);
        if (replies is null)
            return;
        var reply = replies[0].Reply;
        if (reply[0] != (byte)'*')
        {
            writer.WriteRaw(reply);
            return;
        }

        var items = SplitArray(reply);
        var cursorItem = items[0].Span;
        var cursorText = cursorItem[(cursorItem.IndexOf("\r\n"u8) + 2)..^2];
        var next = ulong.Parse(cursorText, CultureInfo.InvariantCulture);
        var composite = next != 0 ? (next << NodeBits) | (uint)member : member + 1 < members ? (ulong)(member + 1) : 0;
        writer.WriteArrayHeader(2);
        writer.WriteBulkString(composite.ToString(CultureInfo.InvariantCulture));
        writer.WriteRaw(items[1].Span);
    }

    // Awaits every part; on a node that cannot be reached the client gets -TRYAGAIN and null is returned.
    private static async Task<List<(List<int> Positions, byte[] Reply)>?> GatherAsync(RespWriter writer,
        List<(List<int> Positions, Task<byte[]> Reply)> parts)
    {
        var replies = new List<(List<int> Positions, byte[] Reply)>();
        foreach (var (positions, reply) in parts)
        {
            try
            {
                replies.Add((positions, await reply));
            }
            catch (Exception ex) when (Router.IsUnreachable(ex))
            {
                writer.WriteError($"TRYAGAIN a node holding some of these keys cannot be reached: {ex.Message}");
                return null;
            }
        }

        return replies;
    }

    private static void Merge(RespWriter writer, MergeKind kind, int keyCount, int firstKey, int step,
        List<(List<int> Positions, byte[] Reply)> replies)
    {
        foreach (var (_, reply) in replies)
        {
            if (reply[0] is (byte)'-' or (byte)'!')
            {
                writer.WriteRaw(reply);
                return;
            }
        }

        switch (kind)
        {
            case MergeKind.Sum:
                long total = 0;
                foreach (var (_, reply) in replies)
                    total += long.Parse(reply.AsSpan(1, reply.Length - 3), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                writer.WriteInteger(total);
                break;
            case MergeKind.AllOk:
                writer.WriteOk();
                break;
            case MergeKind.Array:
                var elements = new ReadOnlyMemory<byte>[keyCount];
                foreach (var (positions, reply) in replies)
                {
                    var items = SplitArray(reply);
                    for (var i = 0; i < positions.Count; i++)
                        elements[(positions[i] - firstKey) / step] = items[i];
                }

                writer.WriteArrayHeader(keyCount);
                foreach (var element in elements)
                    writer.WriteRaw(element.Span);
                break;
            case MergeKind.Concat:
                var all = new List<ReadOnlyMemory<byte>>();
                foreach (var (_, reply) in replies)
                    all.AddRange(SplitArray(reply));
                writer.WriteArrayHeader(all.Count);
                foreach (var element in all)
                    writer.WriteRaw(element.Span);
                break;
            case MergeKind.AnyNonNull:
                var found = replies.Where(r => r.Reply[0] == (byte)'$' && r.Reply[1] != (byte)'-').ToList();
                if (found.Count == 0)
                    writer.WriteNull();
                else
                    writer.WriteRaw(found[Random.Shared.Next(found.Count)].Reply);
                break;
            default:
                throw new InvalidOperationException($"Cannot merge replies of kind {kind}.");
        }
    }

    // The elements of an array reply, each as its exact bytes.
    private static List<ReadOnlyMemory<byte>> SplitArray(byte[] reply)
    {
        var headerEnd = reply.AsSpan().IndexOf("\r\n"u8) + 2;
        var count = int.Parse(reply.AsSpan(1, headerEnd - 3), CultureInfo.InvariantCulture);
        var items = new List<ReadOnlyMemory<byte>>(count);
        var offset = headerEnd;
        for (var i = 0; i < count; i++)
        {
            if (ReplyFramer.TryFrame(new ReadOnlySequence<byte>(reply, offset, reply.Length - offset), out var length) != ParseStatus.Done)
                throw new InvalidDataException("A node's array reply was cut short.");
            items.Add(reply.AsMemory(offset, (int)length));
            offset += (int)length;
        }

        return items;
    }

    // This node's share runs here, its reply captured instead of written to the client (and, for a write on
    // a replicated ring, released once the copies are acknowledged). A keyspace-wide command counts only
    // the keys this node owns, as the other nodes do for theirs.
    private static Task<byte[]> RunHere(ClientSession session, CommandDefinition command, byte[] request)
    {
        var buffer = new ReadOnlySequence<byte>(request);
        var parser = new RequestParser(session.Server.Limits);
        parser.TryParse(ref buffer, out var parsed);
        var view = session.Server.Router.Membership.Current;
        if (Replication.Replicates(command) && Replication.Applies(view))
            return Replication.ExecuteAsync(session, command, parsed, view);

        var captured = new ArrayBufferWriter<byte>();
        var output = session.Writer.Output;
        session.Writer.Output = captured;
        session.OwnedKeysOnly = true;
        try
        {
            CommandTable.Execute(session, command, parsed);
        }
        finally
        {
            session.Writer.Output = output;
            session.OwnedKeysOnly = false;
        }

        return Task.FromResult(captured.WrittenSpan.ToArray());
    }

    // The command name, then for each key position the key (and, for MSET, its value); with no positions,
    // the whole request as it came.
    private static byte[] Encode(byte[][] args, List<int> positions, int step)
    {
        if (positions.Count == 0)
        {
            var whole = new ArrayBufferWriter<byte>();
            var all = new RespWriter(whole);
            all.WriteArrayHeader(args.Length);
            foreach (var arg in args)
                all.WriteBulkString(arg);
            return whole.WrittenSpan.ToArray();
        }

        var buffer = new ArrayBufferWriter<byte>();
        var writer = new RespWriter(buffer);
        writer.WriteArrayHeader(1 + positions.Count * step);
        writer.WriteBulkString(args[0]);
        foreach (var position in positions)
        {
            for (var j = 0; j < step; j++)
                writer.WriteBulkString(args[position + j]);
        }

        return buffer.WrittenSpan.ToArray();
    }
}

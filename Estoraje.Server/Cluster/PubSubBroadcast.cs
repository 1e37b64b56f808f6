using System.Buffers;
using Estoraje.Resp;
using Estoraje.Server.Commands;
using Estoraje.Server.Messaging;

namespace Estoraje.Server.Cluster;

/// <summary>
/// Pub/sub across the cluster. Subscribers stay on the node they connected to; a message published on any node is
/// delivered there and sent to every other member (ESTORAJE.PUBLISH / ESTORAJE.SPUBLISH on the pub/sub peer link),
/// each of which delivers it to its own subscribers, patterns included, and answers how many it reached. PUBLISH
/// replies with the sum. PUBSUB CHANNELS, NUMSUB and NUMPAT ask every member the same question about its own
/// subscribers and merge the answers. A member that does not answer within <see cref="PeerWait"/> is left out
/// of the count or the answer (the message still goes to it): it neither fails nor holds up the publisher for
/// longer. A member whose link has answered nothing for <see cref="StallLimit"/> (stopped, hung) is not even sent
/// to until it answers again, so that publishers stop waiting on it and its link does not pile up messages.
/// </summary>
internal static class PubSubBroadcast
{
    /// <summary>How long a publisher waits for another node's count, or PUBSUB for its answer.</summary>
    public static readonly TimeSpan PeerWait = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a node's link may go without any reply while requests wait before the node is skipped. Well above
    /// <see cref="PeerWait"/>: a node slow under a burst still answers and must not lose messages.
    /// </summary>
    public static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(5);

    /// <summary>The other members when this client's pub/sub command concerns the whole cluster; null when it does not.</summary>
    public static List<ClusterMember>? Peers(ServerContext server, bool fromPeer)
    {
        if (fromPeer)
            return null;
        var view = server.Router.Membership.Current;
        if (view.Members.Count <= 1)
            return null;
        var peers = new List<ClusterMember>(view.Members.Count - 1);
        foreach (var member in view.Members)
        {
            if (member.Id != view.SelfId)
                peers.Add(member);
        }

        return peers.Count == 0 ? null : peers;
    }

    /// <summary>Sends a message published here to every peer; returns PUBLISH's reply: <paramref name="local"/> plus their counts.</summary>
    public static async Task<byte[]> PublishAsync(Router router, List<ClusterMember> peers, bool shard, byte[] channel, byte[] payload, long local)
    {
        var request = PeerConnection.Encode(shard ? "ESTORAJE.SPUBLISH" : "ESTORAJE.PUBLISH", [channel, payload]);
        var total = local;
        ForEachAnswer(await AskAllAsync(router, peers, request), reply => total += new ReplyReader(reply).ReadInteger());
        return Encode(2, writer => writer.WriteInteger(total));
    }

    /// <summary>PUBSUB CHANNELS / SHARDCHANNELS over the cluster: every node's active names, each once.</summary>
    public static async Task<byte[]> ChannelsAsync(Router router, List<ClusterMember> peers, byte[] request, List<byte[]> local, int protocol)
    {
        var names = new HashSet<byte[]>(local, ByteArrayComparer.Instance);
        ForEachAnswer(await AskAllAsync(router, peers, request), reply => ReadNames(reply, names));
        return Encode(protocol, writer => WriteNames(writer, names));
    }

    /// <summary>PUBSUB NUMSUB / SHARDNUMSUB over the cluster: for each name, the sum of every node's subscribers.</summary>
    public static async Task<byte[]> NumSubAsync(Router router, List<ClusterMember> peers, byte[] request, byte[][] names, long[] local, int protocol)
    {
        var totals = (long[])local.Clone();
        ForEachAnswer(await AskAllAsync(router, peers, request), reply =>
        {
            var reader = new ReplyReader(reply);
            if (reader.ReadArrayHeader() != names.Length * 2)
                throw new FormatException("A node answered PUBSUB NUMSUB with another number of channels.");
            var counts = new long[names.Length];
            for (var i = 0; i < names.Length; i++)
            {
                reader.ReadBulk();
                counts[i] = reader.ReadInteger();
            }

            for (var i = 0; i < names.Length; i++)
                totals[i] += counts[i];
        });
        return Encode(protocol, writer => WriteCounts(writer, names, totals));
    }

    /// <summary>PUBSUB NUMPAT over the cluster: distinct patterns subscribed on any node.</summary>
    public static async Task<byte[]> NumPatAsync(Router router, List<ClusterMember> peers, List<byte[]> local)
    {
        var patterns = new HashSet<byte[]>(local, ByteArrayComparer.Instance);
        ForEachAnswer(await AskAllAsync(router, peers, PeerConnection.Encode("ESTORAJE.PATTERNS")), reply => ReadNames(reply, patterns));
        return Encode(2, writer => writer.WriteInteger(patterns.Count));
    }

    /// <summary>An array of names, as PUBSUB CHANNELS replies.</summary>
    public static void WriteNames(RespWriter writer, IReadOnlyCollection<byte[]> names)
    {
        writer.WriteArrayHeader(names.Count);
        foreach (var name in names)
            writer.WriteBulkString(name);
    }

    /// <summary>Name, count, name, count…: PUBSUB NUMSUB's flat array.</summary>
    public static void WriteCounts(RespWriter writer, byte[][] names, long[] counts)
    {
        writer.WriteArrayHeader(names.Length * 2);
        for (var i = 0; i < names.Length; i++)
        {
            writer.WriteBulkString(names[i]);
            writer.WriteInteger(counts[i]);
        }
    }

    // Sends the request to every peer at once and returns the replies of those that answered in time; a node
    // that is down, slow or answers an error is left out.
    private static async Task<List<byte[]>> AskAllAsync(Router router, List<ClusterMember> peers, byte[] request)
    {
        var sent = new List<Task<byte[]>>(peers.Count);
        foreach (var peer in peers)
        {
            if (!router.IsStalled(peer, PeerLink.PubSub, StallLimit))
                sent.Add(router.PubSubAsync(peer, request, PeerWait));
        }

        var replies = new List<byte[]>(sent.Count);
        foreach (var reply in sent)
        {
            try
            {
                var bytes = await reply;
                if (bytes[0] != (byte)'-')
                    replies.Add(bytes);
            }
            catch (Exception ex) when (Router.IsUnreachable(ex))
            {
                // Left out, as its subscribers could not be reached either.
            }
        }

        return replies;
    }

    private static void ForEachAnswer(List<byte[]> replies, Action<byte[]> read)
    {
        foreach (var reply in replies)
        {
            try
            {
                read(reply);
            }
            catch (FormatException)
            {
                // A node answering something else (another version) is left out like one that did not answer.
            }
        }
    }

    private static void ReadNames(byte[] reply, HashSet<byte[]> names)
    {
        var reader = new ReplyReader(reply);
        var count = reader.ReadArrayHeader();
        for (var i = 0; i < count; i++)
            names.Add(reader.ReadBulk().ToArray());
    }

    private static byte[] Encode(int protocol, Action<RespWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(new RespWriter(buffer) { Protocol = protocol });
        return buffer.WrittenSpan.ToArray();
    }
}

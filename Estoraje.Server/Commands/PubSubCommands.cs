using Estoraje.Resp;
using Estoraje.Server.Cluster;
using Estoraje.Server.Messaging;
using Estoraje.Server.Network;

namespace Estoraje.Server.Commands;

/// <summary>
/// SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB; and the peer-only
/// ESTORAJE.PUBLISH, ESTORAJE.SPUBLISH and ESTORAJE.PATTERNS through which nodes share them (see
/// <see cref="PubSubBroadcast"/>). Sharded channels are a namespace of their own, as in Redis, but published to
/// every node like the others.
/// </summary>
internal static class PubSubCommands
{
    public static void Subscribe(ClientSession client, RespRequest request) => Subscribe(client, request, SubscriptionKind.Channel);

    public static void PSubscribe(ClientSession client, RespRequest request) => Subscribe(client, request, SubscriptionKind.Pattern);

    public static void SSubscribe(ClientSession client, RespRequest request) => Subscribe(client, request, SubscriptionKind.ShardChannel);

    public static void Unsubscribe(ClientSession client, RespRequest request) => Unsubscribe(client, request, SubscriptionKind.Channel);

    public static void PUnsubscribe(ClientSession client, RespRequest request) => Unsubscribe(client, request, SubscriptionKind.Pattern);

    public static void SUnsubscribe(ClientSession client, RespRequest request) => Unsubscribe(client, request, SubscriptionKind.ShardChannel);

    public static void Publish(ClientSession client, RespRequest request) => Publish(client, request, shard: false);

    public static void SPublish(ClientSession client, RespRequest request) => Publish(client, request, shard: true);

    /// <summary>Whether a RESP2 connection in subscribed mode may send <paramref name="command"/> (Redis's list).</summary>
    public static bool AllowedWhenSubscribed(CommandDefinition command) =>
        command.Parent is null && command.Name is "ping" or "subscribe" or "ssubscribe" or "unsubscribe" or "sunsubscribe"
            or "psubscribe" or "punsubscribe" or "quit" or "reset";

    /// <summary>Redis's error for any other command in subscribed mode (RESP2).</summary>
    public static string NotAllowedWhenSubscribed(CommandDefinition command) =>
        $"ERR Can't execute '{command.FullName}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context";

    // One confirmation per name, each with the connection's count after it.
    private static void Subscribe(ClientSession client, RespRequest request, SubscriptionKind kind)
    {
        var names = Arguments(request, 1);
        var counts = client.Server.PubSub.Subscribe(client.Subscriptions, kind, names);
        for (var i = 0; i < names.Length; i++)
            WriteConfirmation(client.Writer, ConfirmationOf(kind, subscribe: true), names[i], counts[i]);
    }

    // With no names, from every subscription of the kind; with none of those, one confirmation with a null name.
    private static void Unsubscribe(ClientSession client, RespRequest request, SubscriptionKind kind)
    {
        var subscriber = client.Subscriptions;
        var removed = client.Server.PubSub.Unsubscribe(subscriber, kind, request.Count > 1 ? Arguments(request, 1) : null);
        // Messages queued before the subscriptions went are written before their confirmations, as Redis would have.
        if (subscriber.HasPending)
            subscriber.Drain(client.Writer);
        var confirmation = ConfirmationOf(kind, subscribe: false);
        if (removed.Count == 0)
            WriteConfirmation(client.Writer, confirmation, null, subscriber.CountFor(kind));
        foreach (var (name, count) in removed)
            WriteConfirmation(client.Writer, confirmation, name, count);
    }

    private static void Publish(ClientSession client, RespRequest request, bool shard)
    {
        var channel = request.ToArray(1);
        var payload = request.ToArray(2);
        var local = client.Server.PubSub.Publish(shard, channel, payload);
        // A connection publishing to its own subscription gets the message before the reply, as from Redis.
        if (client.PubSub is { HasPending: true } own)
            own.Drain(client.Writer);
        if (Peers(client) is not { } peers)
        {
            client.Writer.WriteInteger(local);
        }
        else if (Nested(client))
        {
            // Inside EXEC's reply or a script the other nodes get the message but their counts are not waited for.
            _ = PubSubBroadcast.PublishAsync(client.Server.Router, peers, shard, channel, payload, local);
            client.Writer.WriteInteger(local);
        }
        else
        {
            client.Defer(PubSubBroadcast.PublishAsync(client.Server.Router, peers, shard, channel, payload, local));
        }
    }

    // Run by EXEC or by a script: the reply is part of another one, which does not wait for other nodes.
    private static bool Nested(ClientSession client) => client.RunningTransaction || client.RunningScript;

    // The other nodes a pub/sub command concerns: none when one of them sent it (a transaction or a script a peer
    // forwarded here excepted: its client is elsewhere), or when there is no other node.
    private static List<ClusterMember>? Peers(ClientSession client) =>
        PubSubBroadcast.Peers(client.Server, client.IsPeer && !Nested(client));

    // PUBSUB asks the other nodes, except inside EXEC or a script, whose reply cannot wait for them: this node
    // answers alone.
    private static List<ClusterMember>? QueryPeers(ClientSession client) => Nested(client) ? null : Peers(client);

    /// <summary>ESTORAJE.PUBLISH / ESTORAJE.SPUBLISH channel message: another node's message for this node's subscribers; replies how many it reached.</summary>
    public static void PeerPublish(ClientSession client, RespRequest request)
    {
        if (RefuseClient(client, request))
            return;
        var shard = request.Is(0, "ESTORAJE.SPUBLISH"u8);
        client.Writer.WriteInteger(client.Server.PubSub.Publish(shard, request.ToArray(1), request.ToArray(2)));
    }

    /// <summary>ESTORAJE.PATTERNS: the patterns this node's clients are subscribed to (PUBSUB NUMPAT over the cluster).</summary>
    public static void PeerPatterns(ClientSession client, RespRequest request)
    {
        if (RefuseClient(client, request))
            return;
        PubSubBroadcast.WriteNames(client.Writer, client.Server.PubSub.Active(SubscriptionKind.Pattern));
    }

    public static void Channels(ClientSession client, RespRequest request) => Channels(client, request, SubscriptionKind.Channel);

    public static void ShardChannels(ClientSession client, RespRequest request) => Channels(client, request, SubscriptionKind.ShardChannel);

    public static void NumSub(ClientSession client, RespRequest request) => NumSub(client, request, SubscriptionKind.Channel);

    public static void ShardNumSub(ClientSession client, RespRequest request) => NumSub(client, request, SubscriptionKind.ShardChannel);

    public static void NumPat(ClientSession client, RespRequest request)
    {
        var hub = client.Server.PubSub;
        if (QueryPeers(client) is { } peers)
            client.Defer(PubSubBroadcast.NumPatAsync(client.Server.Router, peers, hub.Active(SubscriptionKind.Pattern)));
        else
            client.Writer.WriteInteger(hub.Count(SubscriptionKind.Pattern));
    }

    public static void Help(ClientSession client, RespRequest request) => ServerCommands.WriteHelp(client, "PUBSUB",
    [
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
    ]);

    private static void Channels(ClientSession client, RespRequest request, SubscriptionKind kind)
    {
        if (request.Count > 3)
        {
            client.Writer.WriteError($"ERR unknown subcommand or wrong number of arguments for '{Errors.Truncate(request.GetString(1), 128)}'. Try PUBSUB HELP.");
            return;
        }

        var local = client.Server.PubSub.Active(kind, request.Count == 3 ? request.ToArray(2) : null);
        if (QueryPeers(client) is { } peers)
            client.Defer(PubSubBroadcast.ChannelsAsync(client.Server.Router, peers, PeerConnection.Encode(request), local, client.Writer.Protocol));
        else
            PubSubBroadcast.WriteNames(client.Writer, local);
    }

    private static void NumSub(ClientSession client, RespRequest request, SubscriptionKind kind)
    {
        var names = Arguments(request, 2);
        var counts = new long[names.Length];
        for (var i = 0; i < names.Length; i++)
            counts[i] = client.Server.PubSub.SubscriberCount(kind, names[i]);
        if (QueryPeers(client) is { } peers)
            client.Defer(PubSubBroadcast.NumSubAsync(client.Server.Router, peers, PeerConnection.Encode(request), names, counts, client.Writer.Protocol));
        else
            PubSubBroadcast.WriteCounts(client.Writer, names, counts);
    }

    private static bool RefuseClient(ClientSession client, RespRequest request)
    {
        if (client.IsPeer)
            return false;
        client.Writer.WriteError($"ERR {request.GetString(0).ToUpperInvariant()} is accepted from peers only");
        return true;
    }

    private static ReadOnlySpan<byte> ConfirmationOf(SubscriptionKind kind, bool subscribe) => kind switch
    {
        SubscriptionKind.Pattern => subscribe ? "psubscribe"u8 : "punsubscribe"u8,
        SubscriptionKind.ShardChannel => subscribe ? "ssubscribe"u8 : "sunsubscribe"u8,
        _ => subscribe ? "subscribe"u8 : "unsubscribe"u8,
    };

    // A push in RESP3, an array in RESP2; a null name when there was nothing to unsubscribe from.
    private static void WriteConfirmation(RespWriter writer, ReadOnlySpan<byte> kind, byte[]? name, int count)
    {
        writer.WritePushHeader(3);
        writer.WriteBulkString(kind);
        if (name is null)
            writer.WriteNull();
        else
            writer.WriteBulkString(name);
        writer.WriteInteger(count);
    }

    private static byte[][] Arguments(RespRequest request, int from)
    {
        var names = new byte[request.Count - from][];
        for (var i = 0; i < names.Length; i++)
            names[i] = request.ToArray(from + i);
        return names;
    }
}

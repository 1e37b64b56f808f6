using System.Buffers;
using Estoraje.Resp;

namespace Estoraje.Server.Messaging;

/// <summary>Redis's three separate namespaces of subscriptions.</summary>
internal enum SubscriptionKind
{
    /// <summary>SUBSCRIBE: a channel name; PUBLISH delivers <c>message</c>.</summary>
    Channel,

    /// <summary>PSUBSCRIBE: a glob pattern over channel names; PUBLISH delivers <c>pmessage</c>.</summary>
    Pattern,

    /// <summary>SSUBSCRIBE: a shard channel name; only SPUBLISH reaches it, delivering <c>smessage</c>.</summary>
    ShardChannel,
}

/// <summary>
/// One published message as its subscribers receive it: <c>message</c> (channel, payload), <c>pmessage</c>
/// (pattern, channel, payload) or <c>smessage</c> (channel, payload). Encoded once per protocol — an array in
/// RESP2, a push in RESP3 — on first delivery and shared by every subscriber it goes to.
/// </summary>
internal sealed class PubSubMessage
{
    private readonly SubscriptionKind _kind;
    private readonly byte[]? _pattern;
    private readonly byte[] _channel;
    private readonly byte[] _payload;
    private byte[]? _resp2;
    private byte[]? _resp3;

    public PubSubMessage(SubscriptionKind kind, byte[]? pattern, byte[] channel, byte[] payload)
    {
        _kind = kind;
        _pattern = pattern;
        _channel = channel;
        _payload = payload;
        // The encoded length within a few bytes: what the subscriber's output limit counts.
        Size = 48 + channel.Length + payload.Length + (pattern?.Length ?? 0);
    }

    /// <summary>About the bytes the message takes once encoded.</summary>
    public int Size { get; }

    /// <summary>The message in <paramref name="protocol"/> (2 or 3). Safe from any thread: at worst two threads encode it twice.</summary>
    public byte[] Encoded(int protocol)
    {
        if (protocol >= 3)
            return _resp3 ??= Encode(3);
        return _resp2 ??= Encode(2);
    }

    private byte[] Encode(int protocol)
    {
        var buffer = new ArrayBufferWriter<byte>(Size);
        var writer = new RespWriter(buffer) { Protocol = protocol };
        switch (_kind)
        {
            case SubscriptionKind.Pattern:
                writer.WritePushHeader(4);
                writer.WriteBulkString("pmessage"u8);
                writer.WriteBulkString(_pattern);
                break;
            case SubscriptionKind.ShardChannel:
                writer.WritePushHeader(3);
                writer.WriteBulkString("smessage"u8);
                break;
            default:
                writer.WritePushHeader(3);
                writer.WriteBulkString("message"u8);
                break;
        }

        writer.WriteBulkString(_channel);
        writer.WriteBulkString(_payload);
        return buffer.WrittenSpan.ToArray();
    }
}

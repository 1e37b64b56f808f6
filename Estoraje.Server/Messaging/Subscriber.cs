using Estoraje.Resp;
using Estoraje.Server.Commands;
using Estoraje.Server.Network;

namespace Estoraje.Server.Messaging;

/// <summary>
/// The pub/sub side of one client connection: what it is subscribed to, and the messages published to it that
/// it has not been sent yet (its outbox). Publishers on any thread only queue a message and wake the
/// connection's loop, which alone writes to the connection (a pipe has one writer): it writes waiting messages
/// before each command it runs and after each batch. A subscriber whose outbox passes Redis's
/// <c>client-output-buffer-limit pubsub 32mb 8mb 60</c> is disconnected, so a slow reader never holds a
/// publisher up nor grows without bound.
/// </summary>
internal sealed class Subscriber
{
    /// <summary>Bytes waiting past which the connection is closed at once.</summary>
    public const long HardLimit = 32L * 1024 * 1024;

    /// <summary>Bytes waiting that close the connection when they stay above for <see cref="SoftLimitMs"/>.</summary>
    public const long SoftLimit = 8L * 1024 * 1024;

    public const long SoftLimitMs = 60_000;

    private readonly ClientSession _session;
    private readonly Queue<PubSubMessage> _outbox = new();
    private long _outboxBytes;
    private long _overSoftLimitSince = -1;
    private bool _closed;
    private int _waiting;
    private int _wakeQueued;

    public Subscriber(ClientSession session) => _session = session;

    /// <summary>The connection this subscriber belongs to.</summary>
    public ClientSession Session => _session;

    // Changed only by the connection itself, under the hub's lock; other connections read the counts
    // (CLIENT LIST) without locking.
    public HashSet<byte[]> Channels { get; } = new(ByteArrayComparer.Instance);

    public HashSet<byte[]> Patterns { get; } = new(ByteArrayComparer.Instance);

    public HashSet<byte[]> ShardChannels { get; } = new(ByteArrayComparer.Instance);

    /// <summary>Redis's subscribed mode: at least one subscription of any kind.</summary>
    public bool IsSubscribed => Channels.Count + Patterns.Count + ShardChannels.Count > 0;

    /// <summary>
    /// The count a (un)subscribe confirmation carries: channels and patterns together, shard channels on their own.
    /// </summary>
    public int CountFor(SubscriptionKind kind) =>
        kind == SubscriptionKind.ShardChannel ? ShardChannels.Count : Channels.Count + Patterns.Count;

    /// <summary>The set holding subscriptions of <paramref name="kind"/>.</summary>
    public HashSet<byte[]> Of(SubscriptionKind kind) => kind switch
    {
        SubscriptionKind.Pattern => Patterns,
        SubscriptionKind.ShardChannel => ShardChannels,
        _ => Channels,
    };

    /// <summary>Whether messages wait to be written.</summary>
    public bool HasPending => Volatile.Read(ref _waiting) > 0;

    /// <summary>Bytes of the messages waiting (about their encoded size).</summary>
    public long PendingBytes
    {
        get
        {
            lock (_outbox)
                return _outboxBytes;
        }
    }

    /// <summary>
    /// Queues <paramref name="message"/> (any thread) and wakes the connection's loop; past the output limit the
    /// connection is closed instead. Never runs the connection's code on the caller's thread.
    /// </summary>
    public void Deliver(PubSubMessage message, long nowMs)
    {
        bool overLimit;
        long waiting;
        lock (_outbox)
        {
            if (_closed)
                return;
            _outbox.Enqueue(message);
            _outboxBytes += message.Size;
            Volatile.Write(ref _waiting, _outbox.Count);
            if (_outboxBytes <= SoftLimit)
                _overSoftLimitSince = -1;
            else if (_overSoftLimitSince < 0)
                _overSoftLimitSince = nowMs;
            waiting = _outboxBytes;
            overLimit = _outboxBytes > HardLimit || (_overSoftLimitSince >= 0 && nowMs - _overSoftLimitSince >= SoftLimitMs);
            if (overLimit)
            {
                _closed = true;
                _outbox.Clear();
                _outboxBytes = 0;
                Volatile.Write(ref _waiting, 0);
            }
        }

        // Both go through the thread pool: cancelling the connection's read or its token runs its loop inline, and
        // the publisher may hold the hub's lock that the loop takes when it ends.
        if (overLimit)
        {
            _session.Server.ReportOutputLimit(_session.Id, waiting);
            ThreadPool.UnsafeQueueUserWorkItem(static session => session.Kill(), _session, preferLocal: false);
        }
        else if (Interlocked.Exchange(ref _wakeQueued, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static session => session.Wake(), _session, preferLocal: false);
        }
    }

    /// <summary>Called by the connection's loop when its read returns, before it drains: a later message wakes it again.</summary>
    public void ClearWake() => Volatile.Write(ref _wakeQueued, 0);

    /// <summary>
    /// Writes waiting messages, oldest first, in the writer's protocol, until about <paramref name="maxBytes"/> were
    /// written; returns whether more wait. Only the connection's own loop calls it.
    /// </summary>
    public bool Drain(RespWriter writer, long maxBytes = long.MaxValue)
    {
        var written = 0L;
        while (written < maxBytes)
        {
            PubSubMessage? message;
            lock (_outbox)
            {
                if (!_outbox.TryDequeue(out message))
                    return false;
                _outboxBytes -= message.Size;
                Volatile.Write(ref _waiting, _outbox.Count);
                if (_outboxBytes <= SoftLimit)
                    _overSoftLimitSince = -1;
            }

            var encoded = message.Encoded(writer.Protocol);
            writer.WriteRaw(encoded);
            written += encoded.Length;
        }

        return HasPending;
    }
}

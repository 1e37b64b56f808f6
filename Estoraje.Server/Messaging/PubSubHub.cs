using Estoraje.Server.Commands;

namespace Estoraje.Server.Messaging;

/// <summary>
/// This node's subscriptions, by kind and name, and the delivery of a published message to the subscribers it
/// reaches. One lock covers both: a publisher holds it only to queue the message in the subscribers' outboxes
/// (see <see cref="Subscriber.Deliver"/>), and a message is either queued before an unsubscribe takes effect or
/// not delivered at all.
/// </summary>
internal sealed class PubSubHub
{
    private readonly Lock _lock = new();
    private readonly Dictionary<byte[], HashSet<Subscriber>>[] _byKind =
        [new(ByteArrayComparer.Instance), new(ByteArrayComparer.Instance), new(ByteArrayComparer.Instance)];
    private readonly TimeProvider _time;

    public PubSubHub(TimeProvider time) => _time = time;

    /// <summary>
    /// Subscribes to each of <paramref name="names"/> in turn (again is harmless); returns the subscriber's count
    /// after each, as each confirmation reports it.
    /// </summary>
    public int[] Subscribe(Subscriber subscriber, SubscriptionKind kind, IReadOnlyList<byte[]> names)
    {
        var counts = new int[names.Count];
        var index = _byKind[(int)kind];
        var own = subscriber.Of(kind);
        lock (_lock)
        {
            for (var i = 0; i < names.Count; i++)
            {
                if (own.Add(names[i]))
                {
                    if (!index.TryGetValue(names[i], out var subscribers))
                        index[names[i]] = subscribers = [];
                    subscribers.Add(subscriber);
                }

                counts[i] = subscriber.CountFor(kind);
            }
        }

        return counts;
    }

    /// <summary>
    /// Unsubscribes from each of <paramref name="names"/> (subscribed or not), or from every subscription of
    /// <paramref name="kind"/> when null; returns each name with the subscriber's count after it.
    /// </summary>
    public List<(byte[] Name, int Count)> Unsubscribe(Subscriber subscriber, SubscriptionKind kind, IReadOnlyList<byte[]>? names)
    {
        var own = subscriber.Of(kind);
        lock (_lock)
        {
            var result = new List<(byte[], int)>();
            foreach (var name in names ?? [.. own])
            {
                Remove(subscriber, kind, name);
                result.Add((name, subscriber.CountFor(kind)));
            }

            return result;
        }
    }

    /// <summary>Drops every subscription of <paramref name="subscriber"/> (RESET, or its connection closed).</summary>
    public void RemoveAll(Subscriber subscriber)
    {
        lock (_lock)
        {
            foreach (var kind in (ReadOnlySpan<SubscriptionKind>)[SubscriptionKind.Channel, SubscriptionKind.Pattern, SubscriptionKind.ShardChannel])
            {
                foreach (var name in subscriber.Of(kind).ToArray())
                    Remove(subscriber, kind, name);
            }
        }
    }

    // Under the lock.
    private void Remove(Subscriber subscriber, SubscriptionKind kind, byte[] name)
    {
        if (!subscriber.Of(kind).Remove(name))
            return;
        var index = _byKind[(int)kind];
        if (index.TryGetValue(name, out var subscribers) && subscribers.Remove(subscriber) && subscribers.Count == 0)
            index.Remove(name);
    }

    /// <summary>
    /// Delivers a message published here to this node's subscribers: those of the channel and those of every
    /// pattern it matches (PUBLISH), or those of the shard channel (SPUBLISH). Returns how many deliveries were
    /// made — a connection subscribed to the channel and to a matching pattern counts twice, as in Redis.
    /// </summary>
    public int Publish(bool shard, byte[] channel, byte[] payload)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var receivers = 0;
        lock (_lock)
        {
            var kind = shard ? SubscriptionKind.ShardChannel : SubscriptionKind.Channel;
            if (_byKind[(int)kind].TryGetValue(channel, out var subscribers))
                receivers += DeliverAll(subscribers, new PubSubMessage(kind, null, channel, payload), now);
            if (shard)
                return receivers;
            foreach (var (pattern, matching) in _byKind[(int)SubscriptionKind.Pattern])
            {
                if (Glob.IsMatch(pattern, channel))
                    receivers += DeliverAll(matching, new PubSubMessage(SubscriptionKind.Pattern, pattern, channel, payload), now);
            }
        }

        return receivers;
    }

    private static int DeliverAll(HashSet<Subscriber> subscribers, PubSubMessage message, long now)
    {
        foreach (var subscriber in subscribers)
            subscriber.Deliver(message, now);
        return subscribers.Count;
    }

    /// <summary>
    /// Names with at least one subscriber here (channels, patterns or shard channels), those matching
    /// <paramref name="pattern"/> only when one is given (PUBSUB CHANNELS, SHARDCHANNELS).
    /// </summary>
    public List<byte[]> Active(SubscriptionKind kind, byte[]? pattern = null)
    {
        var names = new List<byte[]>();
        lock (_lock)
        {
            foreach (var name in _byKind[(int)kind].Keys)
            {
                if (pattern is null || Glob.IsMatch(pattern, name))
                    names.Add(name);
            }
        }

        return names;
    }

    /// <summary>Connections here subscribed to <paramref name="name"/> (PUBSUB NUMSUB, SHARDNUMSUB).</summary>
    public int SubscriberCount(SubscriptionKind kind, byte[] name)
    {
        lock (_lock)
        {
            return _byKind[(int)kind].TryGetValue(name, out var subscribers) ? subscribers.Count : 0;
        }
    }

    /// <summary>Distinct names subscribed here (INFO's pubsub_channels, pubsub_patterns; PUBSUB NUMPAT).</summary>
    public int Count(SubscriptionKind kind)
    {
        lock (_lock)
        {
            return _byKind[(int)kind].Count;
        }
    }
}

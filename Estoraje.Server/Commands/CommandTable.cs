using System.Diagnostics;
using System.Text;
using Estoraje.Resp;
using Estoraje.Server.Hosting;
using Estoraje.Server.Network;
using static Estoraje.Server.Commands.CommandFlags;

namespace Estoraje.Server.Commands;

/// <summary>
/// Every command the server serves, one line each: name, Redis arity, flags, first key, last key, key
/// step, group, version it appeared in Redis, summary, handler (and, for commands whose keys an argument
/// counts, <see cref="CommandDefinition.NumKeysIndex"/>). The table drives arity checks, the auth
/// gate, COMMAND and COMMAND DOCS, and INFO commandstats. Registering a name twice fails at start-up.
/// </summary>
internal sealed class CommandTable
{
    public static CommandTable Instance { get; } = Build();

    private readonly Dictionary<string, CommandDefinition> _byName = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, CommandDefinition>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    private CommandTable(IEnumerable<CommandDefinition> commands)
    {
        foreach (var command in commands)
        {
            if (!_byName.TryAdd(command.Name, command))
                throw new InvalidOperationException($"Command '{command.Name}' is registered twice.");
        }

        _lookup = _byName.GetAlternateLookup<ReadOnlySpan<char>>();
        AllWithSubcommands = [.. _byName.Values.SelectMany(c => c.Subcommands.Prepend(c))];
        for (var i = 0; i < AllWithSubcommands.Count; i++)
            AllWithSubcommands[i].Index = i;
    }

    public IReadOnlyCollection<CommandDefinition> All => _byName.Values;

    public IReadOnlyList<CommandDefinition> AllWithSubcommands { get; }

    private static CommandTable Build() => new(
    [
        // Connection
        new("ping", -1, Fast | Sentinel, 0, 0, 0, "connection", "1.0.0", "Returns the server's liveliness response.", ConnectionCommands.Ping),
        new("echo", 2, Fast, 0, 0, 0, "connection", "1.0.0", "Returns the given string.", ConnectionCommands.Echo),
        new("hello", -1, NoScript | Loading | Stale | Fast | NoAuth | Sentinel | AllowBusy, 0, 0, 0, "connection", "6.0.0", "Handshakes with the Redis server.", ConnectionCommands.Hello),
        new("auth", -2, NoScript | Loading | Stale | Fast | NoAuth | Sentinel | AllowBusy, 0, 0, 0, "connection", "1.0.0", "Authenticates the connection.", ConnectionCommands.Auth),
        new("quit", -1, AllowBusy | NoScript | Loading | Stale | Fast | NoAuth, 0, 0, 0, "connection", "1.0.0", "Closes the connection.", ConnectionCommands.Quit),
        new("reset", 1, NoScript | Loading | Stale | Fast | NoAuth | Sentinel | AllowBusy, 0, 0, 0, "connection", "6.2.0", "Resets the connection.", ConnectionCommands.Reset),
        new("select", 2, Loading | Stale | Fast, 0, 0, 0, "connection", "1.0.0", "Changes the selected database.", ConnectionCommands.Select),
        new("client", -2, None, 0, 0, 0, "connection", "2.4.0", "A container for client connection commands.", null,
        [
            new("id", 2, NoScript | Loading | Stale, 0, 0, 0, "connection", "5.0.0", "Returns the unique client ID of the connection.", ClientCommands.Id),
            new("setname", 3, NoScript | Loading | Stale, 0, 0, 0, "connection", "2.6.9", "Sets the connection name.", ClientCommands.SetName),
            new("getname", 2, NoScript | Loading | Stale, 0, 0, 0, "connection", "2.6.9", "Returns the name of the connection.", ClientCommands.GetName),
            new("setinfo", 4, NoScript | Loading | Stale, 0, 0, 0, "connection", "7.2.0", "Sets information specific to the client or connection.", ClientCommands.SetInfo),
            new("list", -2, Admin | NoScript | Loading | Stale | Dangerous, 0, 0, 0, "connection", "2.4.0", "Lists open connections.", ClientCommands.List),
            new("info", 2, NoScript | Loading | Stale, 0, 0, 0, "connection", "6.2.0", "Returns information about the connection.", ClientCommands.Info),
            new("kill", -3, Admin | NoScript | Loading | Stale | Dangerous, 0, 0, 0, "connection", "2.4.0", "Terminates open connections.", ClientCommands.Kill),
            new("no-evict", 3, Admin | NoScript | Loading | Stale | Dangerous, 0, 0, 0, "connection", "7.0.0", "Sets the client eviction mode of the connection.", ClientCommands.NoEvict),
            new("no-touch", 3, NoScript | Loading | Stale, 0, 0, 0, "connection", "7.2.0", "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.", ClientCommands.NoTouch),
            new("help", 2, Loading | Stale, 0, 0, 0, "connection", "5.0.0", "Returns helpful text about the different subcommands.", ClientCommands.Help),
        ]),

        // Server
        new("info", -1, Loading | Stale | Sentinel, 0, 0, 0, "server", "1.0.0", "Returns information and statistics about the server.", ServerCommands.Info),
        new("command", -1, Loading | Stale | Sentinel, 0, 0, 0, "server", "2.8.13", "Returns detailed information about all commands.", ServerCommands.Command,
        [
            new("count", 2, Loading | Stale, 0, 0, 0, "server", "2.8.13", "Returns a count of commands.", ServerCommands.CommandCount),
            new("info", -2, Loading | Stale, 0, 0, 0, "server", "2.8.13", "Returns information about one, multiple or all commands.", ServerCommands.CommandInfo),
            new("docs", -2, Loading | Stale, 0, 0, 0, "server", "7.0.0", "Returns documentary information about one, multiple or all commands.", ServerCommands.CommandDocs),
            new("list", -2, Loading | Stale, 0, 0, 0, "server", "7.0.0", "Returns a list of command names.", ServerCommands.CommandList),
            new("getkeys", -4, Loading | Stale, 0, 0, 0, "server", "2.8.13", "Extracts the key names from an arbitrary command.", ServerCommands.CommandGetKeys),
            new("help", 2, Loading | Stale, 0, 0, 0, "server", "5.0.0", "Returns helpful text about the different subcommands.", ServerCommands.CommandHelp),
        ]),
        new("config", -2, None, 0, 0, 0, "server", "2.0.0", "A container for server configuration commands.", null,
        [
            new("get", -3, Admin | NoScript | Loading | Stale, 0, 0, 0, "server", "2.0.0", "Returns the effective values of configuration parameters.", ServerCommands.ConfigGet),
            new("set", -4, Admin | NoScript | Loading | Stale | Dangerous, 0, 0, 0, "server", "2.0.0", "Sets configuration parameters in-flight.", ServerCommands.ConfigSet),
            new("resetstat", 2, Admin | NoScript | Loading | Stale | Dangerous, 0, 0, 0, "server", "2.0.0", "Resets the server's statistics.", ServerCommands.ConfigResetStat),
            new("rewrite", 2, Admin | NoScript | Loading | Stale | Dangerous, 0, 0, 0, "server", "2.8.0", "Persists the effective configuration to file.", ServerCommands.ConfigRewrite),
            new("help", 2, Loading | Stale, 0, 0, 0, "server", "5.0.0", "Returns helpful text about the different subcommands.", ServerCommands.ConfigHelp),
        ]),
        new("dbsize", 1, ReadOnly | Fast, 0, 0, 0, "server", "1.0.0", "Returns the number of keys in the database.", ServerCommands.DbSize),
        new("flushdb", -1, Write | Dangerous, 0, 0, 0, "server", "1.0.0", "Removes all keys from the current database.", ServerCommands.Flush),
        new("flushall", -1, Write | Dangerous, 0, 0, 0, "server", "1.0.0", "Removes all keys from all databases.", ServerCommands.Flush),
        new("time", 1, Loading | Stale | Fast, 0, 0, 0, "server", "2.6.0", "Returns the server time.", ServerCommands.Time),
        new("bgrewriteaof", 1, Admin | NoScript, 0, 0, 0, "server", "1.0.0", "Asynchronously rewrites the append-only file to disk.", ServerCommands.BgRewriteAof),
        new("lastsave", 1, Loading | Stale | Fast | Dangerous, 0, 0, 0, "server", "1.0.0", "Returns the Unix timestamp of the last successful save to disk.", ServerCommands.LastSave),
        new("shutdown", -1, Admin | NoScript | Loading | Stale | Sentinel | AllowBusy | Dangerous | NoMulti, 0, 0, 0, "server", "1.0.0", "Synchronously saves the database(s) to disk and shuts down the Redis server.", ServerCommands.Shutdown),
        new("debug", -2, Admin | NoScript | Loading | Stale | Dangerous, 0, 0, 0, "server", "1.0.0", "A container for debugging commands.", ServerCommands.Debug),

        // Cluster: only KEYSLOT until nodes form a cluster; the rest answer as a Redis without cluster support.
        new("cluster", -2, None, 0, 0, 0, "cluster", "3.0.0", "A container for Redis Cluster commands.", null,
        [
            new("keyslot", 3, Loading | Stale, 0, 0, 0, "cluster", "3.0.0", "Returns the hash slot for a key.", ClusterCommands.KeySlot),
            new("info", 2, Loading | Stale, 0, 0, 0, "cluster", "3.0.0", "Returns information about the state of a node.", ClusterCommands.Disabled),
            new("nodes", 2, Loading | Stale, 0, 0, 0, "cluster", "3.0.0", "Returns the cluster configuration for a node.", ClusterCommands.Disabled),
            new("slots", 2, Loading | Stale, 0, 0, 0, "cluster", "3.0.0", "Returns the mapping of cluster slots to nodes.", ClusterCommands.Disabled),
            new("shards", 2, Loading | Stale, 0, 0, 0, "cluster", "7.0.0", "Returns the mapping of cluster slots to shards.", ClusterCommands.Disabled),
            new("myid", 2, Loading | Stale, 0, 0, 0, "cluster", "3.0.0", "Returns the ID of a node.", ClusterCommands.Disabled),
            new("help", 2, Loading | Stale, 0, 0, 0, "cluster", "5.0.0", "Returns helpful text about the different subcommands.", ClusterCommands.Help),
        ]),

        // Transactions: queued in MULTI by the connection loop, run atomically by EXEC on the primary of their slot.
        new("multi", 1, NoScript | Loading | Stale | Fast | AllowBusy, 0, 0, 0, "transactions", "1.2.0", "Starts a transaction.", TransactionCommands.Multi),
        new("exec", 1, NoScript | Loading | Stale | SkipSlowlog, 0, 0, 0, "transactions", "1.2.0", "Executes all commands in a transaction.", TransactionCommands.Exec),
        new("discard", 1, NoScript | Loading | Stale | Fast | AllowBusy, 0, 0, 0, "transactions", "2.0.0", "Discards a transaction.", TransactionCommands.Discard),
        new("watch", -2, NoScript | Loading | Stale | Fast | AllowBusy, 1, -1, 1, "transactions", "2.2.0", "Monitors changes to keys to determine the execution of a transaction.", TransactionCommands.Watch),
        new("unwatch", 1, NoScript | Loading | Stale | Fast | AllowBusy, 0, 0, 0, "transactions", "2.2.0", "Forgets about watched keys of a transaction.", TransactionCommands.Unwatch),

        // Pub/sub
        new("subscribe", -2, PubSub | NoScript | Loading | Stale | Sentinel, 0, 0, 0, "pubsub", "2.0.0", "Listens for messages published to channels.", PubSubCommands.Subscribe),
        new("unsubscribe", -1, PubSub | NoScript | Loading | Stale | Sentinel, 0, 0, 0, "pubsub", "2.0.0", "Stops listening to messages posted to channels.", PubSubCommands.Unsubscribe),
        new("psubscribe", -2, PubSub | NoScript | Loading | Stale | Sentinel, 0, 0, 0, "pubsub", "2.0.0", "Listens for messages published to channels that match one or more patterns.", PubSubCommands.PSubscribe),
        new("punsubscribe", -1, PubSub | NoScript | Loading | Stale | Sentinel, 0, 0, 0, "pubsub", "2.0.0", "Stops listening to messages published to channels that match one or more patterns.", PubSubCommands.PUnsubscribe),
        new("ssubscribe", -2, PubSub | NoScript | Loading | Stale, 1, -1, 1, "pubsub", "7.0.0", "Listens for messages published to shard channels.", PubSubCommands.SSubscribe),
        new("sunsubscribe", -1, PubSub | NoScript | Loading | Stale, 1, -1, 1, "pubsub", "7.0.0", "Stops listening to messages posted to shard channels.", PubSubCommands.SUnsubscribe),
        new("publish", 3, PubSub | Loading | Stale | Fast | Sentinel, 0, 0, 0, "pubsub", "2.0.0", "Posts a message to a channel.", PubSubCommands.Publish),
        new("spublish", 3, PubSub | Loading | Stale | Fast, 1, 1, 1, "pubsub", "7.0.0", "Posts a message to a shard channel.", PubSubCommands.SPublish),
        new("pubsub", -2, None, 0, 0, 0, "pubsub", "2.8.0", "A container for Pub/Sub commands.", null,
        [
            new("channels", -2, PubSub | Loading | Stale, 0, 0, 0, "pubsub", "2.8.0", "Returns the active channels.", PubSubCommands.Channels),
            new("numsub", -2, PubSub | Loading | Stale, 0, 0, 0, "pubsub", "2.8.0", "Returns a count of subscribers to channels.", PubSubCommands.NumSub),
            new("numpat", 2, PubSub | Loading | Stale, 0, 0, 0, "pubsub", "2.8.0", "Returns a count of unique pattern subscriptions.", PubSubCommands.NumPat),
            new("shardchannels", -2, PubSub | Loading | Stale, 0, 0, 0, "pubsub", "7.0.0", "Returns the active shard channels.", PubSubCommands.ShardChannels),
            new("shardnumsub", -2, PubSub | Loading | Stale, 0, 0, 0, "pubsub", "7.0.0", "Returns the count of subscribers of shard channels.", PubSubCommands.ShardNumSub),
            new("help", 2, Loading | Stale, 0, 0, 0, "pubsub", "6.2.0", "Returns helpful text about the different subcommands.", PubSubCommands.Help),
        ]),

        // Between nodes
        new("wait", 3, NoScript, 0, 0, 0, "generic", "3.0.0", "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.", Cluster.Replication.Wait),
        new("estoraje.apply", -5, Write | Fast | NoMulti, 0, 0, 0, "cluster", "0.1.0", "Applies a replicated record if it is newer (from peers only).", Cluster.Replication.Apply),
        new("estoraje.script", 2, NoScript | Stale | NoMulti, 0, 0, 0, "cluster", "0.1.0", "Returns the body of a cached script (from peers only).", Scripting.ScriptCluster.Body),
        new("estoraje.digests", -2, ReadOnly | Stale | NoMulti, 0, 0, 0, "cluster", "0.1.0", "Returns the key count and digest of each slot given (slot sync, from peers only).", Cluster.SlotSyncCommands.Digests),
        new("estoraje.slotscan", 4, ReadOnly | Stale | NoMulti, 0, 0, 0, "cluster", "0.1.0", "Lists one slot's keys with their versions, tombstones included (slot sync, from peers only).", Cluster.SlotSyncCommands.SlotScan),
        new("estoraje.fetch", -2, ReadOnly | Stale | NoMulti, 0, 0, 0, "cluster", "0.1.0", "Returns the records of keys with their versions (slot sync, from peers only).", Cluster.SlotSyncCommands.Fetch),
        new("estoraje.exec", -3, NoScript | NoMulti, 0, 0, 0, "cluster", "0.1.0", "Runs a transaction whose client is connected to another node, if its watched keys are unchanged (from peers only).", Cluster.TransactionForwarding.Exec),
        new("estoraje.watch", -2, Fast | NoMulti, 0, 0, 0, "cluster", "0.1.0", "Returns the watch stamps of keys this node leads (WATCH from another node, from peers only).", Cluster.TransactionForwarding.Watch),
        new("estoraje.publish", 3, PubSub | Loading | Stale | Fast | NoMulti, 0, 0, 0, "cluster", "0.1.0", "Delivers a message published on another node to this node's subscribers (from peers only).", PubSubCommands.PeerPublish),
        new("estoraje.spublish", 3, PubSub | Loading | Stale | Fast | NoMulti, 0, 0, 0, "cluster", "0.1.0", "Delivers a shard message published on another node to this node's subscribers (from peers only).", PubSubCommands.PeerPublish),
        new("estoraje.patterns", 1, PubSub | Loading | Stale | NoMulti, 0, 0, 0, "cluster", "0.1.0", "Returns the patterns this node's clients are subscribed to (from peers only).", PubSubCommands.PeerPatterns),
        new("estoraje.peer", 2, NoScript | Loading | Stale | Fast | NoAuth | NoMulti, 0, 0, 0, "cluster", "0.1.0", "Authenticates a connection from another node (peer port only).", Cluster.PeerCommands.Authenticate),

        // Estoraje's own: the cluster as this node sees it (membership through etcd, the ring).
        new("estoraje", -2, None, 0, 0, 0, "cluster", "7.0.0", "A container for Estoraje cluster commands.", null,
        [
            new("members", 2, Loading | Stale | NoMulti, 0, 0, 0, "cluster", "7.0.0", "Returns the cluster members, their addresses, states and slots.", EstorajeCommands.Members),
            new("locate", 3, Loading | Stale | NoMulti, 0, 0, 0, "cluster", "7.0.0", "Returns the slot, primary and replicas of a key.", EstorajeCommands.Locate),
            new("ring", 2, Loading | Stale | NoMulti, 0, 0, 0, "cluster", "7.0.0", "Returns the ring epoch, members and slot counts.", EstorajeCommands.RingInfo),
            new("digest", 3, Stale | NoMulti, 0, 0, 0, "cluster", "7.0.0", "Returns the key count and digest of this node's copy of a slot.", Cluster.SlotSyncCommands.Digest),
            new("sync", -2, Loading | Stale | NoMulti, 0, 0, 0, "cluster", "7.0.0", "Returns this node's slot sync progress, or pauses or resumes its background part.", EstorajeCommands.Sync),
            new("leave", 2, Admin | NoScript | Dangerous | NoMulti, 0, 0, 0, "cluster", "7.0.0", "Hands this node's slots to the other members, then deregisters and stops.", EstorajeCommands.Leave),
            new("forget", 3, Admin | NoScript | Dangerous | NoMulti, 0, 0, 0, "cluster", "7.0.0", "Removes a dead member's registration.", EstorajeCommands.Forget),
            new("help", 2, Loading | Stale | NoMulti, 0, 0, 0, "cluster", "7.0.0", "Returns helpful text about the different subcommands.", EstorajeCommands.Help),
        ]),

        // Strings
        new("get", 2, ReadOnly | Fast, 1, 1, 1, "string", "1.0.0", "Returns the string value of a key.", StringCommands.Get),
        new("set", -3, Write | DenyOom, 1, 1, 1, "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", StringCommands.Set),
        new("setnx", 3, Write | DenyOom | Fast, 1, 1, 1, "string", "1.0.0", "Set the string value of a key only when the key doesn't exist.", StringCommands.SetNx),
        new("setex", 4, Write | DenyOom, 1, 1, 1, "string", "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", StringCommands.SetEx),
        new("psetex", 4, Write | DenyOom, 1, 1, 1, "string", "2.6.0", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", StringCommands.PSetEx),
        new("getset", 3, Write | DenyOom | Fast, 1, 1, 1, "string", "1.0.0", "Returns the previous string value of a key after setting it to a new value.", StringCommands.GetSet),
        new("getdel", 2, Write | Fast, 1, 1, 1, "string", "6.2.0", "Returns the string value of a key after deleting the key.", StringCommands.GetDel),
        new("getex", -2, Write | Fast, 1, 1, 1, "string", "6.2.0", "Returns the string value of a key after setting its expiration time.", StringCommands.GetEx),
        new("mget", -2, ReadOnly | Fast, 1, -1, 1, "string", "1.0.0", "Atomically returns the string values of one or more keys.", StringCommands.MGet),
        new("mset", -3, Write | DenyOom, 1, -1, 2, "string", "1.0.1", "Atomically creates or modifies the string values of one or more keys.", StringCommands.MSet),
        new("msetnx", -3, Write | DenyOom, 1, -1, 2, "string", "1.0.1", "Atomically modifies the string values of one or more keys only when all keys don't exist.", StringCommands.MSetNx),
        new("append", 3, Write | DenyOom | Fast, 1, 1, 1, "string", "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist.", StringCommands.Append),
        new("strlen", 2, ReadOnly | Fast, 1, 1, 1, "string", "2.2.0", "Returns the length of a string value.", StringCommands.StrLen),
        new("getrange", 4, ReadOnly, 1, 1, 1, "string", "2.4.0", "Returns a substring of the string stored at a key.", StringCommands.GetRange),
        new("substr", 4, ReadOnly, 1, 1, 1, "string", "1.0.0", "Returns a substring from a string value.", StringCommands.GetRange),
        new("setrange", 4, Write | DenyOom, 1, 1, 1, "string", "2.2.0", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", StringCommands.SetRange),
        new("incr", 2, Write | DenyOom | Fast, 1, 1, 1, "string", "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", StringCommands.Incr),
        new("decr", 2, Write | DenyOom | Fast, 1, 1, 1, "string", "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", StringCommands.Decr),
        new("incrby", 3, Write | DenyOom | Fast, 1, 1, 1, "string", "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", StringCommands.IncrBy),
        new("decrby", 3, Write | DenyOom | Fast, 1, 1, 1, "string", "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", StringCommands.DecrBy),
        new("incrbyfloat", 3, Write | DenyOom | Fast, 1, 1, 1, "string", "2.6.0", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", StringCommands.IncrByFloat),
        new("lcs", -3, ReadOnly, 1, 2, 1, "string", "7.0.0", "Finds the longest common substring.", StringCommands.Lcs),

        // Hashes
        new("hset", -4, Write | DenyOom | Fast, 1, 1, 1, "hash", "2.0.0", "Creates or modifies the value of a field in a hash.", HashCommands.HSet),
        new("hsetnx", 4, Write | DenyOom | Fast, 1, 1, 1, "hash", "2.0.0", "Sets the value of a field in a hash only when the field doesn't exist.", HashCommands.HSetNx),
        new("hmset", -4, Write | DenyOom | Fast, 1, 1, 1, "hash", "2.0.0", "Sets the values of multiple fields.", HashCommands.HMSet),
        new("hget", 3, ReadOnly | Fast, 1, 1, 1, "hash", "2.0.0", "Returns the value of a field in a hash.", HashCommands.HGet),
        new("hmget", -3, ReadOnly | Fast, 1, 1, 1, "hash", "2.0.0", "Returns the values of all fields in a hash.", HashCommands.HMGet),
        new("hgetall", 2, ReadOnly, 1, 1, 1, "hash", "2.0.0", "Returns all fields and values in a hash.", HashCommands.HGetAll),
        new("hkeys", 2, ReadOnly, 1, 1, 1, "hash", "2.0.0", "Returns all fields in a hash.", HashCommands.HKeys),
        new("hvals", 2, ReadOnly, 1, 1, 1, "hash", "2.0.0", "Returns all values in a hash.", HashCommands.HVals),
        new("hlen", 2, ReadOnly | Fast, 1, 1, 1, "hash", "2.0.0", "Returns the number of fields in a hash.", HashCommands.HLen),
        new("hexists", 3, ReadOnly | Fast, 1, 1, 1, "hash", "2.0.0", "Determines whether a field exists in a hash.", HashCommands.HExists),
        new("hstrlen", 3, ReadOnly | Fast, 1, 1, 1, "hash", "3.2.0", "Returns the length of the value of a field.", HashCommands.HStrLen),
        new("hdel", -3, Write | Fast, 1, 1, 1, "hash", "2.0.0", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", HashCommands.HDel),
        new("hincrby", 4, Write | DenyOom | Fast, 1, 1, 1, "hash", "2.0.0", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", HashCommands.HIncrBy),
        new("hincrbyfloat", 4, Write | DenyOom | Fast, 1, 1, 1, "hash", "2.6.0", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", HashCommands.HIncrByFloat),
        new("hrandfield", -2, ReadOnly, 1, 1, 1, "hash", "6.2.0", "Returns one or more random fields from a hash.", HashCommands.HRandField),
        new("hscan", -3, ReadOnly, 1, 1, 1, "hash", "2.8.0", "Iterates over fields and values of a hash.", HashCommands.HScan),

        // Lists (the blocking pops BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and BLMPOP are not served)
        new("lpush", -3, Write | DenyOom | Fast, 1, 1, 1, "list", "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", ListCommands.LPush),
        new("rpush", -3, Write | DenyOom | Fast, 1, 1, 1, "list", "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist.", ListCommands.RPush),
        new("lpushx", -3, Write | DenyOom | Fast, 1, 1, 1, "list", "2.2.0", "Prepends one or more elements to a list only when the list exists.", ListCommands.LPushX),
        new("rpushx", -3, Write | DenyOom | Fast, 1, 1, 1, "list", "2.2.0", "Appends an element to a list only when the list exists.", ListCommands.RPushX),
        new("lpop", -2, Write | Fast, 1, 1, 1, "list", "1.0.0", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", ListCommands.LPop),
        new("rpop", -2, Write | Fast, 1, 1, 1, "list", "1.0.0", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", ListCommands.RPop),
        new("lrange", 4, ReadOnly, 1, 1, 1, "list", "1.0.0", "Returns a range of elements from a list.", ListCommands.LRange),
        new("llen", 2, ReadOnly | Fast, 1, 1, 1, "list", "1.0.0", "Returns the length of a list.", ListCommands.LLen),
        new("lindex", 3, ReadOnly, 1, 1, 1, "list", "1.0.0", "Returns an element from a list by its index.", ListCommands.LIndex),
        new("lset", 4, Write | DenyOom, 1, 1, 1, "list", "1.0.0", "Sets the value of an element in a list by its index.", ListCommands.LSet),
        new("lrem", 4, Write, 1, 1, 1, "list", "1.0.0", "Removes elements from a list. Deletes the list if the last element was removed.", ListCommands.LRem),
        new("ltrim", 4, Write, 1, 1, 1, "list", "1.0.0", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", ListCommands.LTrim),
        new("linsert", 5, Write | DenyOom, 1, 1, 1, "list", "2.2.0", "Inserts an element before or after another element in a list.", ListCommands.LInsert),
        new("lpos", -3, ReadOnly, 1, 1, 1, "list", "6.0.6", "Returns the index of matching elements in a list.", ListCommands.LPos),
        new("lmove", 5, Write | DenyOom, 1, 2, 1, "list", "6.2.0", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", ListCommands.LMove),
        new("rpoplpush", 3, Write | DenyOom, 1, 2, 1, "list", "1.2.0", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", ListCommands.RPopLPush),
        new("lmpop", -4, Write, 0, 0, 0, "list", "7.0.0", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", ListCommands.LMPop) { NumKeysIndex = 1 },

        // Sets
        new("sadd", -3, Write | DenyOom | Fast, 1, 1, 1, "set", "1.0.0", "Adds one or more members to a set. Creates the key if it doesn't exist.", SetCommands.SAdd),
        new("srem", -3, Write | Fast, 1, 1, 1, "set", "1.0.0", "Removes one or more members from a set. Deletes the set if the last member was removed.", SetCommands.SRem),
        new("smembers", 2, ReadOnly, 1, 1, 1, "set", "1.0.0", "Returns all members of a set.", SetCommands.SMembers),
        new("sismember", 3, ReadOnly | Fast, 1, 1, 1, "set", "1.0.0", "Determines whether a member belongs to a set.", SetCommands.SIsMember),
        new("smismember", -3, ReadOnly | Fast, 1, 1, 1, "set", "6.2.0", "Determines whether multiple members belong to a set.", SetCommands.SMIsMember),
        new("scard", 2, ReadOnly | Fast, 1, 1, 1, "set", "1.0.0", "Returns the number of members in a set.", SetCommands.SCard),
        new("spop", -2, Write | Fast, 1, 1, 1, "set", "1.0.0", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", SetCommands.SPop),
        new("srandmember", -2, ReadOnly, 1, 1, 1, "set", "1.0.0", "Get one or multiple random members from a set.", SetCommands.SRandMember),
        new("sscan", -3, ReadOnly, 1, 1, 1, "set", "2.8.0", "Iterates over members of a set.", SetCommands.SScan),
        new("smove", 4, Write | Fast, 1, 2, 1, "set", "1.0.0", "Moves a member from one set to another.", SetCommands.SMove),
        new("sinter", -2, ReadOnly, 1, -1, 1, "set", "1.0.0", "Returns the intersect of multiple sets.", SetCommands.SInter),
        new("sunion", -2, ReadOnly, 1, -1, 1, "set", "1.0.0", "Returns the union of multiple sets.", SetCommands.SUnion),
        new("sdiff", -2, ReadOnly, 1, -1, 1, "set", "1.0.0", "Returns the difference of multiple sets.", SetCommands.SDiff),
        new("sinterstore", -3, Write | DenyOom, 1, -1, 1, "set", "1.0.0", "Stores the intersect of multiple sets in a key.", SetCommands.SInterStore),
        new("sunionstore", -3, Write | DenyOom, 1, -1, 1, "set", "1.0.0", "Stores the union of multiple sets in a key.", SetCommands.SUnionStore),
        new("sdiffstore", -3, Write | DenyOom, 1, -1, 1, "set", "1.0.0", "Stores the difference of multiple sets in a key.", SetCommands.SDiffStore),
        new("sintercard", -3, ReadOnly, 0, 0, 0, "set", "7.0.0", "Returns the number of members of the intersect of multiple sets.", SetCommands.SInterCard) { NumKeysIndex = 1 },

        // Sorted sets
        new("zadd", -4, Write | DenyOom | Fast, 1, 1, 1, "sorted_set", "1.2.0", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", SortedSetCommands.ZAdd),
        new("zincrby", 4, Write | DenyOom | Fast, 1, 1, 1, "sorted_set", "1.2.0", "Increments the score of a member in a sorted set.", SortedSetCommands.ZIncrBy),
        new("zrem", -3, Write | Fast, 1, 1, 1, "sorted_set", "1.2.0", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", SortedSetCommands.ZRem),
        new("zscore", 3, ReadOnly | Fast, 1, 1, 1, "sorted_set", "1.2.0", "Returns the score of a member in a sorted set.", SortedSetCommands.ZScore),
        new("zmscore", -3, ReadOnly | Fast, 1, 1, 1, "sorted_set", "6.2.0", "Returns the score of one or more members in a sorted set.", SortedSetCommands.ZMScore),
        new("zcard", 2, ReadOnly | Fast, 1, 1, 1, "sorted_set", "1.2.0", "Returns the number of members in a sorted set.", SortedSetCommands.ZCard),
        new("zcount", 4, ReadOnly | Fast, 1, 1, 1, "sorted_set", "2.0.0", "Returns the count of members in a sorted set that have scores within a range.", SortedSetCommands.ZCount),
        new("zlexcount", 4, ReadOnly | Fast, 1, 1, 1, "sorted_set", "2.8.9", "Returns the number of members in a sorted set within a lexicographical range.", SortedSetCommands.ZLexCount),
        new("zrank", -3, ReadOnly | Fast, 1, 1, 1, "sorted_set", "2.0.0", "Returns the index of a member in a sorted set ordered by ascending scores.", SortedSetCommands.ZRank),
        new("zrevrank", -3, ReadOnly | Fast, 1, 1, 1, "sorted_set", "2.0.0", "Returns the index of a member in a sorted set ordered by descending scores.", SortedSetCommands.ZRevRank),
        new("zrange", -4, ReadOnly, 1, 1, 1, "sorted_set", "1.2.0", "Returns members in a sorted set within a range of indexes.", SortedSetRangeCommands.ZRange),
        new("zrangestore", -5, Write | DenyOom, 1, 2, 1, "sorted_set", "6.2.0", "Stores a range of members from sorted set in a key.", SortedSetRangeCommands.ZRangeStore),
        new("zrevrange", -4, ReadOnly, 1, 1, 1, "sorted_set", "1.2.0", "Returns members in a sorted set within a range of indexes in reverse order.", SortedSetRangeCommands.ZRevRange),
        new("zrangebyscore", -4, ReadOnly, 1, 1, 1, "sorted_set", "1.0.5", "Returns members in a sorted set within a range of scores.", SortedSetRangeCommands.ZRangeByScore),
        new("zrevrangebyscore", -4, ReadOnly, 1, 1, 1, "sorted_set", "2.2.0", "Returns members in a sorted set within a range of scores in reverse order.", SortedSetRangeCommands.ZRevRangeByScore),
        new("zrangebylex", -4, ReadOnly, 1, 1, 1, "sorted_set", "2.8.9", "Returns members in a sorted set within a lexicographical range.", SortedSetRangeCommands.ZRangeByLex),
        new("zrevrangebylex", -4, ReadOnly, 1, 1, 1, "sorted_set", "2.8.9", "Returns members in a sorted set within a lexicographical range in reverse order.", SortedSetRangeCommands.ZRevRangeByLex),
        new("zremrangebyrank", 4, Write, 1, 1, 1, "sorted_set", "2.0.0", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", SortedSetRangeCommands.ZRemRangeByRank),
        new("zremrangebyscore", 4, Write, 1, 1, 1, "sorted_set", "1.2.0", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", SortedSetRangeCommands.ZRemRangeByScore),
        new("zremrangebylex", 4, Write, 1, 1, 1, "sorted_set", "2.8.9", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", SortedSetRangeCommands.ZRemRangeByLex),
        new("zpopmin", -2, Write | Fast, 1, 1, 1, "sorted_set", "5.0.0", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", SortedSetCommands.ZPopMin),
        new("zpopmax", -2, Write | Fast, 1, 1, 1, "sorted_set", "5.0.0", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", SortedSetCommands.ZPopMax),
        new("zrandmember", -2, ReadOnly, 1, 1, 1, "sorted_set", "6.2.0", "Returns one or more random members from a sorted set.", SortedSetCommands.ZRandMember),
        new("zscan", -3, ReadOnly, 1, 1, 1, "sorted_set", "2.8.0", "Iterates over members and scores of a sorted set.", SortedSetCommands.ZScan),
        new("zunionstore", -4, Write | DenyOom, 1, 1, 1, "sorted_set", "2.0.0", "Stores the union of multiple sorted sets in a key.", SortedSetAlgebraCommands.ZUnionStore) { NumKeysIndex = 2 },
        new("zinterstore", -4, Write | DenyOom, 1, 1, 1, "sorted_set", "2.0.0", "Stores the intersect of multiple sorted sets in a key.", SortedSetAlgebraCommands.ZInterStore) { NumKeysIndex = 2 },
        new("zdiffstore", -4, Write | DenyOom, 1, 1, 1, "sorted_set", "6.2.0", "Stores the difference of multiple sorted sets in a key.", SortedSetAlgebraCommands.ZDiffStore) { NumKeysIndex = 2 },
        new("zunion", -3, ReadOnly, 0, 0, 0, "sorted_set", "6.2.0", "Returns the union of multiple sorted sets.", SortedSetAlgebraCommands.ZUnion) { NumKeysIndex = 1 },
        new("zinter", -3, ReadOnly, 0, 0, 0, "sorted_set", "6.2.0", "Returns the intersect of multiple sorted sets.", SortedSetAlgebraCommands.ZInter) { NumKeysIndex = 1 },
        new("zdiff", -3, ReadOnly, 0, 0, 0, "sorted_set", "6.2.0", "Returns the difference between multiple sorted sets.", SortedSetAlgebraCommands.ZDiff) { NumKeysIndex = 1 },
        new("zintercard", -3, ReadOnly, 0, 0, 0, "sorted_set", "7.0.0", "Returns the number of members of the intersect of multiple sorted sets.", SortedSetAlgebraCommands.ZInterCard) { NumKeysIndex = 1 },

        // Scripting: EVAL's keys follow its numkeys argument.
        new("eval", -3, NoScript | Stale | NoMandatoryKeys | UndeclaredKeys, 0, 0, 0, "scripting", "2.6.0", "Executes a server-side Lua script.", ScriptCommands.Eval) { NumKeysIndex = 2 },
        new("evalsha", -3, NoScript | Stale | NoMandatoryKeys | UndeclaredKeys, 0, 0, 0, "scripting", "2.6.0", "Executes a server-side Lua script by SHA1 digest.", ScriptCommands.EvalSha) { NumKeysIndex = 2 },
        new("eval_ro", -3, NoScript | Stale | ReadOnly | NoMandatoryKeys | UndeclaredKeys, 0, 0, 0, "scripting", "7.0.0", "Executes a read-only server-side Lua script.", ScriptCommands.EvalRo) { NumKeysIndex = 2 },
        new("evalsha_ro", -3, NoScript | Stale | ReadOnly | NoMandatoryKeys | UndeclaredKeys, 0, 0, 0, "scripting", "7.0.0", "Executes a read-only server-side Lua script by SHA1 digest.", ScriptCommands.EvalShaRo) { NumKeysIndex = 2 },
        new("script", -2, None, 0, 0, 0, "scripting", "2.6.0", "A container for Lua scripts management commands.", null,
        [
            new("load", 3, NoScript | Stale, 0, 0, 0, "scripting", "2.6.0", "Loads a server-side Lua script to the script cache.", ScriptCommands.Load),
            new("exists", -3, NoScript, 0, 0, 0, "scripting", "2.6.0", "Determines whether server-side Lua scripts exist in the script cache.", ScriptCommands.Exists),
            new("flush", -2, NoScript, 0, 0, 0, "scripting", "2.6.0", "Removes all server-side Lua scripts from the script cache.", ScriptCommands.Flush),
            new("kill", 2, NoScript | AllowBusy, 0, 0, 0, "scripting", "2.6.0", "Terminates a server-side Lua script during execution.", ScriptCommands.Kill),
            new("debug", 3, NoScript, 0, 0, 0, "scripting", "3.2.0", "Sets the debug mode of server-side Lua scripts.", ScriptCommands.Debug),
            new("help", 2, Loading | Stale, 0, 0, 0, "scripting", "5.0.0", "Returns helpful text about the different subcommands.", ScriptCommands.Help),
        ]),

        // Keys
        new("del", -2, Write, 1, -1, 1, "generic", "1.0.0", "Deletes one or more keys.", KeyCommands.Del),
        new("unlink", -2, Write | Fast, 1, -1, 1, "generic", "4.0.0", "Asynchronously deletes one or more keys.", KeyCommands.Del),
        new("exists", -2, ReadOnly | Fast, 1, -1, 1, "generic", "1.0.0", "Determines whether one or more keys exist.", KeyCommands.Exists),
        new("touch", -2, ReadOnly | Fast, 1, -1, 1, "generic", "3.2.1", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", KeyCommands.Exists),
        new("type", 2, ReadOnly | Fast, 1, 1, 1, "generic", "1.0.0", "Determines the type of value stored at a key.", KeyCommands.Type),
        new("keys", 2, ReadOnly, 0, 0, 0, "generic", "1.0.0", "Returns all key names that match a pattern.", KeyCommands.Keys),
        new("scan", -2, ReadOnly, 0, 0, 0, "generic", "2.8.0", "Iterates over the key names in the database.", KeyCommands.Scan),
        new("randomkey", 1, ReadOnly, 0, 0, 0, "generic", "1.0.0", "Returns a random key name from the database.", KeyCommands.RandomKey),
        new("rename", 3, Write, 1, 2, 1, "generic", "1.0.0", "Renames a key and overwrites the destination.", KeyCommands.Rename),
        new("renamenx", 3, Write | Fast, 1, 2, 1, "generic", "1.0.0", "Renames a key only when the target key name doesn't exist.", KeyCommands.RenameNx),
        new("copy", -3, Write | DenyOom, 1, 2, 1, "generic", "6.2.0", "Copies the value of a key to a new key.", KeyCommands.Copy),
        new("expire", -3, Write | Fast, 1, 1, 1, "generic", "1.0.0", "Sets the expiration time of a key in seconds.", KeyCommands.Expire),
        new("pexpire", -3, Write | Fast, 1, 1, 1, "generic", "2.6.0", "Sets the expiration time of a key in milliseconds.", KeyCommands.PExpire),
        new("expireat", -3, Write | Fast, 1, 1, 1, "generic", "1.2.0", "Sets the expiration time of a key to a Unix timestamp.", KeyCommands.ExpireAt),
        new("pexpireat", -3, Write | Fast, 1, 1, 1, "generic", "2.6.0", "Sets the expiration time of a key to a Unix milliseconds timestamp.", KeyCommands.PExpireAt),
        new("ttl", 2, ReadOnly | Fast, 1, 1, 1, "generic", "1.0.0", "Returns the expiration time in seconds of a key.", KeyCommands.Ttl),
        new("pttl", 2, ReadOnly | Fast, 1, 1, 1, "generic", "2.6.0", "Returns the expiration time in milliseconds of a key.", KeyCommands.PTtl),
        new("expiretime", 2, ReadOnly | Fast, 1, 1, 1, "generic", "7.0.0", "Returns the expiration time of a key as a Unix timestamp.", KeyCommands.ExpireTime),
        new("pexpiretime", 2, ReadOnly | Fast, 1, 1, 1, "generic", "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp.", KeyCommands.PExpireTime),
        new("persist", 2, Write | Fast, 1, 1, 1, "generic", "2.2.0", "Removes the expiration time of a key.", KeyCommands.Persist),
        new("object", -2, None, 0, 0, 0, "generic", "2.2.3", "A container for object introspection commands.", null,
        [
            new("encoding", 3, ReadOnly, 2, 2, 1, "generic", "2.2.3", "Returns the internal encoding of a Redis object.", KeyCommands.ObjectEncoding),
            new("freq", 3, ReadOnly, 2, 2, 1, "generic", "4.0.0", "Returns the logarithmic access frequency counter of a Redis object.", KeyCommands.ObjectFreq),
            new("idletime", 3, ReadOnly, 2, 2, 1, "generic", "2.2.3", "Returns the time since the last access to a Redis object.", KeyCommands.ObjectIdleTime),
            new("refcount", 3, ReadOnly, 2, 2, 1, "generic", "2.2.3", "Returns the reference count of a value of a key.", KeyCommands.ObjectRefCount),
            new("help", 2, Loading | Stale, 0, 0, 0, "generic", "6.2.0", "Returns helpful text about the different subcommands.", KeyCommands.ObjectHelp),
        ]),
    ]);

    public CommandDefinition? Find(ReadOnlySpan<byte> name)
    {
        if (name.Length > 32)
            return null;
        Span<char> chars = stackalloc char[name.Length];
        if (Ascii.ToUtf16(name, chars, out _) != System.Buffers.OperationStatus.Done)
            return null;
        return _lookup.TryGetValue(chars, out var command) ? command : null;
    }

    public CommandDefinition? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The command (or subcommand) a request names, unchecked; null when there is none.</summary>
    public CommandDefinition? Lookup(RespRequest request)
    {
        var command = Find(request[0]);
        return command is { HasSubcommands: true } && request.Count >= 2 ? command.FindSubcommand(request[1]) : command;
    }

    /// <summary>Resolves, checks and runs one request, writing its reply (or Redis's error) to the client.</summary>
    public void Execute(ClientSession client, RespRequest request)
    {
        var command = Resolve(client, request);
        if (command is not null)
            Execute(client, command, request);
    }

    /// <summary>
    /// Finds the command (or subcommand) of a request and checks its arity and the auth gate; on failure
    /// writes Redis's error and returns null.
    /// </summary>
    public CommandDefinition? Resolve(ClientSession client, RespRequest request)
    {
        var name = request[0];
        var command = client.RecentCommand.Match(name);
        if (command is null)
        {
            command = Find(name);
            if (command is null)
            {
                client.Writer.WriteError(UnknownCommand(request));
                return null;
            }

            client.RecentCommand.Remember(name, command);
        }

        if (command.HasSubcommands && request.Count >= 2)
        {
            var sub = command.FindSubcommand(request[1]);
            if (sub is null)
            {
                client.Writer.WriteError(Errors.UnknownSubcommand(request.GetString(1), command.Name));
                return null;
            }

            command = sub;
        }

        if (!command.AcceptsArgumentCount(request.Count))
            return Reject(client, command, Errors.WrongArity(command.FullName));

        if (!client.Authenticated && (command.Flags & NoAuth) == 0)
            return Reject(client, command, Errors.NoAuth);

        if (client.Server.Loading && (command.Flags & Loading) == 0)
            return Reject(client, command, Errors.Loading);

        // As Redis after a failed AOF write: writes (and PING, so health checks notice) are refused; reads go on.
        if (client.Server.Store.WriteError is { } writeError && ((command.Flags & Write) != 0 || command.Name == "ping"))
            return Reject(client, command, Errors.DiskError(writeError));

        // A RESP2 connection in subscribed mode reads pub/sub replies only; RESP3 tells them apart (push frames).
        if (client.PubSub is { IsSubscribed: true } && !client.Writer.IsResp3 && !PubSubCommands.AllowedWhenSubscribed(command))
            return Reject(client, command, PubSubCommands.NotAllowedWhenSubscribed(command));

        return command;
    }

    // A refused EXEC also discards the transaction, and says so as Redis's execCommandAbort does.
    private static CommandDefinition? Reject(ClientSession client, CommandDefinition command, string error)
    {
        Interlocked.Increment(ref command.Stats.RejectedCalls);
        if (command.Parent is null && command.Name == "exec")
        {
            client.Transaction.Discard();
            error = TransactionExecution.AbortPrefix + (error.StartsWith("ERR ", StringComparison.Ordinal) ? error[4..] : error);
        }

        client.Writer.WriteError(error);
        return null;
    }

    /// <summary>Runs a resolved command here, counting it for INFO commandstats.</summary>
    public static void Execute(ClientSession client, CommandDefinition command, RespRequest request)
    {
        client.LastCommand = command.FullName;
        var started = Stopwatch.GetTimestamp();
        var clock = client.Server.Time.Freeze(started);
        var replyStart = client.Writer.BytesWritten;
        try
        {
            command.Handler!(client, request);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A bug in one command must not take the server, or even the connection, down: the client gets
            // an error in place of the reply. A reply already half written cannot be taken back, so then
            // the connection is closed after what was written.
            Interlocked.Increment(ref command.Stats.FailedCalls);
            client.Server.ReportCommandFailure(command.FullName, ex);
            if (client.Writer.BytesWritten == replyStart)
                client.Writer.WriteError($"ERR internal error while executing '{command.FullName}'");
            else
                client.CloseAfterReply = true;
        }
        finally
        {
            CommandClock.Restart(clock);
        }

        // The batch's replies wait for the store to commit its writes (see RespListener).
        if ((command.Flags & Write) != 0)
        {
            client.PendingCommit = true;
            client.WrittenKeys?.Add(command, request);
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        var counters = client.Counters;
        counters.Calls[command.Index]++;
        counters.Microseconds[command.Index] += (long)elapsed.TotalMicroseconds;
        counters.Commands++;
    }

    private static string UnknownCommand(RespRequest request)
    {
        var args = new StringBuilder();
        for (var i = 1; i < request.Count && args.Length < 128; i++)
        {
            // Redis's '%.*s' with 128 minus what is written so far, the opening quote not counted yet.
            var room = 128 - args.Length;
            args.Append('\'').Append(Errors.Truncate(request.GetString(i), room)).Append("' ");
        }
        return $"ERR unknown command '{Errors.Truncate(request.GetString(0), 128)}', with args beginning with: {args}";
    }
}

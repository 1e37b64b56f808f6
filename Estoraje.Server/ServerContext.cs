using System.Collections.Concurrent;
using Estoraje.Resp;
using Estoraje.Server.Cluster;
using Estoraje.Server.Commands;
using Estoraje.Server.Hosting;
using Estoraje.Server.Messaging;
using Estoraje.Server.Network;
using Estoraje.Storage;
using Microsoft.Extensions.Logging;

namespace Estoraje.Server;

/// <summary>What every connection of one node shares: settings, the store, the command table, clients and counters.</summary>
internal sealed partial class ServerContext
{
    private readonly SessionCounters _retired = new(CommandTable.Instance.AllWithSubcommands.Count);
    private readonly ILogger _logger;
    private long _nextClientId;
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _loading;

    public ServerContext(ServerOptions options, IKeyValueStore store, TimeProvider time, Action requestShutdown, ILogger? logger = null,
        IClusterMembership? membership = null)
    {
        Membership = membership ?? StaticMembership.For(options, NodeIdentity.Resolve(options));
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        Options = options;
        Store = store;
        Time = time as CommandClock ?? new CommandClock(time);
        RequestShutdown = requestShutdown;
        StartedAt = time.GetUtcNow();
        RequirePass = options.RequirePass;
        Limits = new RespLimits { MaxBulkLength = options.ProtoMaxBulkLen, MaxQueryBuffer = options.ClientQueryBufferLimit };
        RunId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(20));
        if (Membership is StaticMembership fixedMembers)
            store.Clock.Ordinal = fixedMembers.Ordinal;
        Router = new Router(Membership, options.ClusterSecret, TimeSpan.FromSeconds(5), options.ReadFromReplica);
        Scripts = new Scripting.ScriptEngine(_logger);
        PubSub = new PubSubHub(time);
        if (store is Storage.Log.LogStore log)
            Compaction = new CompactionScheduler(log, log.Options.CompactionDeadRatio);
    }

    /// <summary>Routes commands to the primary of their slot and forwards to other nodes.</summary>
    public Router Router { get; }

    /// <summary>Lua scripts: the script cache and the states that run them (EVAL, SCRIPT).</summary>
    public Scripting.ScriptEngine Scripts { get; }

    /// <summary>This node's pub/sub subscriptions.</summary>
    public PubSubHub PubSub { get; }

    /// <summary>Records kept for replicas that did not take them (null without a host).</summary>
    public HintedHandoff? Hints { get; set; }

    /// <summary>Slot sync's puller (null until the host creates it; tests without a host have none).</summary>
    public SlotSync? SlotSync { get; set; }

    /// <summary>The log store's compactions (null for the memory store).</summary>
    public CompactionScheduler? Compaction { get; }

    public ServerOptions Options { get; }

    /// <summary>The cluster as this node sees it: etcd membership, or a ring of one when standalone.</summary>
    public IClusterMembership Membership { get; }

    public IKeyValueStore Store { get; }

    /// <summary>
    /// True while the store recovers from disk: commands without the <c>loading</c> flag get
    /// <c>-LOADING</c> and INFO shows <c>loading:1</c>, as Redis while it reads its AOF or RDB.
    /// </summary>
    public bool Loading
    {
        get => _loading;
        set
        {
            _loading = value;
            if (!value)
                _loaded.TrySetResult();
        }
    }

    /// <summary>Completes once the store has finished loading.</summary>
    public Task Loaded => _loading ? _loaded.Task : Task.CompletedTask;

    /// <summary>The server's clock: it stands still while a command runs (see <see cref="CommandClock"/>).</summary>
    public CommandClock Time { get; }

    public Action RequestShutdown { get; }

    public DateTimeOffset StartedAt { get; }

    public string RunId { get; }

    public CommandTable Commands { get; } = CommandTable.Instance;

    public ConcurrentDictionary<long, ClientSession> Clients { get; } = new();

    public ServerStats Stats { get; } = new();

    /// <summary>Password required by AUTH (CONFIG SET requirepass changes it); empty for none.</summary>
    public string RequirePass { get; set; }

    public RespLimits Limits { get; set; }

    /// <summary>Unix time of the last successful save; no saves yet, so start-up time, as Redis reports.</summary>
    public long LastSave => StartedAt.ToUnixTimeSeconds();

    public long NextClientId() => Interlocked.Increment(ref _nextClientId);

    public void ReportCommandFailure(string command, Exception exception) =>
        LogCommandFailure(_logger, command, exception);

    public void ReportConnectionFailure(long clientId, Exception exception) =>
        LogConnectionFailure(_logger, clientId, exception);

    public void ReportOutputLimit(long clientId, long bytes) =>
        LogOutputLimit(_logger, clientId, bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {ClientId} closed: {Bytes} bytes of pub/sub messages waiting for it passed the output buffer limit")]
    private static partial void LogOutputLimit(ILogger logger, long clientId, long bytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Command '{Command}' failed")]
    private static partial void LogCommandFailure(ILogger logger, string command, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Connection of client {ClientId} failed and was closed")]
    private static partial void LogConnectionFailure(ILogger logger, long clientId, Exception exception);

    /// <summary>Keeps the counts of a closed connection.</summary>
    public void Retire(SessionCounters counters)
    {
        lock (_retired)
            _retired.Add(counters);
    }

    /// <summary>Counters of every connection, closed and open (open ones read without locking: INFO is a snapshot).</summary>
    public SessionCounters CounterTotals()
    {
        var totals = new SessionCounters(_retired.Calls.Length);
        lock (_retired)
            totals.Add(_retired);
        foreach (var client in Clients.Values)
            totals.Add(client.Counters);
        return totals;
    }

    /// <summary>CONFIG RESETSTAT.</summary>
    public void ResetStats()
    {
        Stats.Reset();
        lock (_retired)
            _retired.Reset();
        foreach (var client in Clients.Values)
            client.Counters.Reset();
        foreach (var command in Commands.AllWithSubcommands)
            command.Stats.Reset();
    }

    public long NowMs => Time.GetUtcNow().ToUnixTimeMilliseconds();
}

/// <summary>
/// Counters one connection updates without synchronisation on its own thread (shared counters bounce a
/// cache line between cores on every command); INFO adds up the live sessions and the retired totals.
/// </summary>
internal sealed class SessionCounters
{
    public SessionCounters(int commands)
    {
        Calls = new long[commands];
        Microseconds = new long[commands];
    }

    public long Commands;
    public long KeyspaceHits;
    public long KeyspaceMisses;

    // Bytes read and written by the connection: kept per connection, as the rest, so that connections on
    // different event loops never write to one shared counter.
    public long NetInputBytes;
    public long NetOutputBytes;

    public long[] Calls { get; }

    public long[] Microseconds { get; }

    public void Add(SessionCounters other)
    {
        Commands += other.Commands;
        KeyspaceHits += other.KeyspaceHits;
        KeyspaceMisses += other.KeyspaceMisses;
        NetInputBytes += other.NetInputBytes;
        NetOutputBytes += other.NetOutputBytes;
        for (var i = 0; i < Calls.Length; i++)
        {
            Calls[i] += other.Calls[i];
            Microseconds[i] += other.Microseconds[i];
        }
    }

    public void Reset()
    {
        Commands = KeyspaceHits = KeyspaceMisses = NetInputBytes = NetOutputBytes = 0;
        Array.Clear(Calls);
        Array.Clear(Microseconds);
    }
}

/// <summary>Node-wide counters for INFO stats.</summary>
internal sealed class ServerStats
{
    public long ConnectionsReceived;
    public long RejectedConnections;
    public long ProtocolErrors;
    public long ErrorReplies;

    public void Reset()
    {
        ConnectionsReceived = RejectedConnections = 0;
        ProtocolErrors = ErrorReplies = 0;
    }
}

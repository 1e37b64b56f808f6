using System.Collections.Concurrent;
using Estoraje.Resp;
using Estoraje.Server.Commands;
using Estoraje.Server.Hosting;
using Estoraje.Server.Network;
using Estoraje.Storage;

namespace Estoraje.Server;

/// <summary>What every connection of one node shares: settings, the store, the command table, clients and counters.</summary>
internal sealed class ServerContext
{
    private long _nextClientId;

    public ServerContext(ServerOptions options, IKeyValueStore store, TimeProvider time, Action requestShutdown)
    {
        Options = options;
        Store = store;
        Time = time;
        RequestShutdown = requestShutdown;
        StartedAt = time.GetUtcNow();
        RequirePass = options.RequirePass;
        Limits = new RespLimits { MaxBulkLength = options.ProtoMaxBulkLen, MaxQueryBuffer = options.ClientQueryBufferLimit };
        RunId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(20));
    }

    public ServerOptions Options { get; }

    public IKeyValueStore Store { get; }

    public TimeProvider Time { get; }

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

    public long NowMs => Time.GetUtcNow().ToUnixTimeMilliseconds();
}

/// <summary>Node-wide counters for INFO stats.</summary>
internal sealed class ServerStats
{
    public long ConnectionsReceived;
    public long CommandsProcessed;
    public long RejectedConnections;
    public long KeyspaceHits;
    public long KeyspaceMisses;
    public long NetInputBytes;
    public long NetOutputBytes;
    public long ProtocolErrors;
    public long ErrorReplies;

    public void Reset()
    {
        ConnectionsReceived = CommandsProcessed = RejectedConnections = 0;
        KeyspaceHits = KeyspaceMisses = NetInputBytes = NetOutputBytes = ProtocolErrors = ErrorReplies = 0;
    }
}

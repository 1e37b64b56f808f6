using Microsoft.Extensions.Configuration;

namespace Estoraje.Server.Hosting;

/// <summary>
/// Node settings. Read from <c>appsettings.json</c>, <c>ESTORAJE_</c> environment variables and
/// redis-server style flags (<c>--port 6380</c>), later sources winning.
/// </summary>
public sealed class ServerOptions
{
    /// <summary>Client port.</summary>
    public int Port { get; set; } = 6379;

    /// <summary>Addresses to listen on, separated by spaces (as redis-server's <c>bind</c>).</summary>
    public string Bind { get; set; } = "127.0.0.1";

    /// <summary>Working directory for data files.</summary>
    public string Dir { get; set; } = ".";

    /// <summary>Password clients must give with AUTH; empty for none.</summary>
    public string RequirePass { get; set; } = "";

    /// <summary>Most clients connected at once.</summary>
    public int MaxClients { get; set; } = 10000;

    /// <summary>Storage engine: <c>memory</c> (nothing on disk) or <c>log</c> (the durable log store in <see cref="Dir"/>).</summary>
    public string Storage { get; set; } = "log";

    /// <summary>When the log store fsyncs: <c>always</c> (before each reply, group commit), <c>everysec</c> or <c>no</c>.</summary>
    public string AppendFsync { get; set; } = "everysec";

    /// <summary>
    /// Byte budget of the log store's hot-value cache, with Redis's units (<c>100mb</c>, <c>2gb</c>); empty or
    /// <c>0</c> for a quarter of the memory available.
    /// </summary>
    public string MaxMemory { get; set; } = "";

    /// <summary>Size at which the log store starts a new segment file, with Redis's units.</summary>
    public string SegmentSize { get; set; } = "64mb";

    /// <summary>Seconds a deleted or expired key's tombstone is kept by the log store.</summary>
    public int TombstoneGrace { get; set; } = 3600;

    /// <summary>Largest bulk string accepted (proto-max-bulk-len).</summary>
    public long ProtoMaxBulkLen { get; set; } = 512L * 1024 * 1024;

    /// <summary>Largest query buffer per client (client-query-buffer-limit).</summary>
    public long ClientQueryBufferLimit { get; set; } = 1024L * 1024 * 1024;

    /// <summary>Active expiry cycles per second (Redis's hz).</summary>
    public int Hz { get; set; } = 10;

    /// <summary>
    /// Run socket completions, and so command execution, on the socket event threads instead of handing
    /// each to the thread pool (DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS). Measured here: about a third
    /// less CPU per request. A slow command then delays the other clients of the same event thread, as in Redis.
    /// </summary>
    public bool InlineCompletions { get; set; } = true;

    /// <summary>
    /// Threads serving client connections with their own epoll loop (Linux); 0 for the .NET socket engine instead
    /// (any OS). Default: one per core. The loops share the connections by load: a lightly loaded server serves them
    /// all on one loop (a second would only add sleeps and wake-ups), a busy one spreads them over all; see
    /// <c>Network/EventLoop.cs</c> and docs/benchmarks.md.
    /// </summary>
    public int EventLoops { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Microseconds an event loop keeps polling its sockets for the next request before it sleeps (0: it sleeps at
    /// once). Polls that keep finding nothing back off, so an idle loop does not spin. See
    /// <c>Network/BusyPolling.cs</c>.
    /// </summary>
    public int BusyPoll { get; set; } = 30;

    /// <summary>etcd endpoints (<c>http://h1:2379,http://h2:2379</c>); empty for a standalone node.</summary>
    public string Etcd { get; set; } = "";

    /// <summary>Name of the cluster: members register under <c>/estoraje/&lt;name&gt;/members/</c>.</summary>
    public string ClusterName { get; set; } = "estoraje";

    /// <summary>This node's id; empty to use the one persisted in <see cref="Dir"/> (generated on first start).</summary>
    public string NodeId { get; set; } = "";

    /// <summary>Host the other nodes and clients reach this node on; empty for the (first) bind address.</summary>
    public string AdvertiseAddr { get; set; } = "";

    /// <summary>Port of the peer links between nodes; 0 for the client port + 10000.</summary>
    public int PeerPort { get; set; }

    /// <summary>Copies of each slot (N).</summary>
    public int Replicas { get; set; } = 3;

    /// <summary>Durable acknowledgements a write needs (W); 0 for a majority of <see cref="Replicas"/>.</summary>
    public int WriteQuorum { get; set; }

    /// <summary>
    /// Where reads run: <c>primary</c> (default: the slot's primary, so a read sees every acknowledged write) or
    /// <c>replica</c> (on this node whenever it holds a copy of the slot: no hop, but a read may miss a write
    /// acknowledged a moment ago by the other W copies).
    /// </summary>
    public string ReadFrom { get; set; } = "primary";

    /// <summary>Whether reads run on any replica that holds the slot (<c>--read-from replica</c>).</summary>
    public bool ReadFromReplica => ReadFrom == "replica";

    /// <summary>On SIGTERM (or SHUTDOWN), hand this node's slots to the others first, as ESTORAJE LEAVE does.</summary>
    public bool LeaveOnShutdown { get; set; }

    /// <summary>Seconds a node keeps the data of a slot it no longer holds before dropping it (others may still pull it).</summary>
    public int DropGrace { get; set; } = 60;

    /// <summary>Seconds between anti-entropy passes (every slot a node leads compared with its replicas); 0: none.</summary>
    public int AntiEntropyInterval { get; set; } = 60;

    /// <summary>Bytes per second slot sync may move (fetched and pushed records); 0: no cap.</summary>
    public long SyncMaxBytesPerSec { get; set; }

    /// <summary>TTL in seconds of the etcd lease that keeps this node registered.</summary>
    public int LeaseTtl { get; set; } = 5;

    /// <summary>Shared secret peers authenticate each other with; empty for none.</summary>
    public string ClusterSecret { get; set; } = "";

    /// <summary>Relative capacity of this node on the ring.</summary>
    public double Weight { get; set; } = 1.0;

    /// <summary>Failure zone (replicas of a slot prefer distinct zones); empty for none.</summary>
    public string Zone { get; set; } = "";

    /// <summary>Whether this node joins a cluster through etcd.</summary>
    public bool IsClustered => !string.IsNullOrWhiteSpace(Etcd);

    /// <summary>The peer port in effect.</summary>
    public int EffectivePeerPort => PeerPort > 0 ? PeerPort : Port + 10000;

    /// <summary>The write quorum in effect: as given, or a majority of the replicas.</summary>
    public int EffectiveWriteQuorum => WriteQuorum > 0 ? WriteQuorum : Replicas / 2 + 1;

    /// <summary>What is wrong with the settings of the client connections, or null.</summary>
    public string? ValidateNetwork() =>
        BusyPoll is < 0 or > 1_000_000 ? $"--busy-poll must be from 0 to 1000000 microseconds (got {BusyPoll})." : null;

    /// <summary>What is wrong with the cluster settings, or null.</summary>
    public string? ValidateCluster()
    {
        if (Replicas < 1)
            return $"--replicas must be at least 1 (got {Replicas}).";
        if (WriteQuorum < 0 || WriteQuorum > Replicas)
            return $"--write-quorum must be between 1 and --replicas ({Replicas}) (got {WriteQuorum}).";
        if (ReadFrom is not ("primary" or "replica"))
            return $"--read-from must be primary or replica (got '{ReadFrom}').";
        if (AntiEntropyInterval < 0 || SyncMaxBytesPerSec < 0 || DropGrace < 0)
            return "--anti-entropy-interval, --sync-max-bytes-per-sec and --drop-grace must not be negative.";
        if (LeaseTtl < 1)
            return $"--lease-ttl must be at least 1 second (got {LeaseTtl}).";
        if (!(Weight > 0) || double.IsInfinity(Weight))
            return $"--weight must be a positive number (got {Weight}).";
        if (PeerPort is < 0 or > 65535 || EffectivePeerPort > 65535)
            return $"--peer-port must be a port number (the default, port + 10000, is {Port + 10000}).";
        if (ClusterName.Length == 0 || !Cluster.NodeIdentity.IsValidId(ClusterName))
            return $"--cluster-name '{ClusterName}' may only use letters, digits, '.', '_' and '-' (at most 64).";
        if (NodeId.Length > 0 && !Cluster.NodeIdentity.IsValidId(NodeId))
            return $"--node-id '{NodeId}' may only use letters, digits, '.', '_' and '-' (at most 64).";
        if (IsClustered)
        {
            foreach (var endpoint in Etcd.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                    return $"--etcd endpoint '{endpoint}' is not an http:// or https:// URL.";
            }
        }

        return null;
    }

    /// <summary>A fixed member list, <c>id@clienthost:port@peerhost:port,...</c>, for a cluster without etcd.</summary>
    public string Members { get; set; } = "";

    /// <summary>Whether this node is part of a cluster (etcd or a fixed member list), and so listens on its peer port.</summary>
    public bool Clustered => IsClustered || Members.Length > 0;

    /// <summary>redis-server style flags whose names differ from the property names.</summary>
    public static IDictionary<string, string> SwitchMappings { get; } = new Dictionary<string, string>
    {
        ["--proto-max-bulk-len"] = nameof(ProtoMaxBulkLen),
        ["--client-query-buffer-limit"] = nameof(ClientQueryBufferLimit),
        ["--inline-completions"] = nameof(InlineCompletions),
        ["--event-loops"] = nameof(EventLoops),
        ["--busy-poll"] = nameof(BusyPoll),
        ["--segment-size"] = nameof(SegmentSize),
        ["--tombstone-grace"] = nameof(TombstoneGrace),
        ["--cluster-name"] = nameof(ClusterName),
        ["--node-id"] = nameof(NodeId),
        ["--advertise-addr"] = nameof(AdvertiseAddr),
        ["--peer-port"] = nameof(PeerPort),
        ["--write-quorum"] = nameof(WriteQuorum),
        ["--lease-ttl"] = nameof(LeaseTtl),
        ["--read-from"] = nameof(ReadFrom),
        ["--leave-on-shutdown"] = nameof(LeaveOnShutdown),
        ["--anti-entropy-interval"] = nameof(AntiEntropyInterval),
        ["--drop-grace"] = nameof(DropGrace),
        ["--sync-max-bytes-per-sec"] = nameof(SyncMaxBytesPerSec),
        ["--cluster-secret"] = nameof(ClusterSecret),
    };

    /// <summary>
    /// Rewrites the size settings that hold a number of bytes (<c>--proto-max-bulk-len</c>,
    /// <c>--client-query-buffer-limit</c>) from Redis's units (<c>512mb</c>) to bytes, before binding; returns
    /// what is wrong with one, or null.
    /// </summary>
    public static string? ConvertSizes(IConfiguration configuration)
    {
        foreach (var (flag, key) in (ReadOnlySpan<(string, string)>)[("--proto-max-bulk-len", nameof(ProtoMaxBulkLen)), ("--client-query-buffer-limit", nameof(ClientQueryBufferLimit))])
        {
            if (configuration[key] is not { } text)
                continue;
            if (ParseMemory(text) is not { } bytes)
                return $"{flag} must be a size in bytes or with Redis's units, such as 512mb (got '{text}').";
            configuration[key] = bytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return null;
    }

    /// <summary>Parses a size with Redis's units (<c>1k</c> = 1000, <c>1kb</c> = 1024, m, mb, g, gb); null when invalid.</summary>
    public static long? ParseMemory(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        (string Suffix, long Unit)[] units = [("gb", 1L << 30), ("mb", 1L << 20), ("kb", 1L << 10), ("g", 1_000_000_000), ("m", 1_000_000), ("k", 1000), ("b", 1)];
        long unit = 1;
        foreach (var (suffix, size) in units)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal))
            {
                unit = size;
                t = t[..^suffix.Length];
                break;
            }
        }

        if (!long.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n > long.MaxValue / unit)
            return null;
        return n * unit;
    }
}

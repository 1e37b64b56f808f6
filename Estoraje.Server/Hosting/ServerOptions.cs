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
    public string Storage { get; set; } = "memory";

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

    /// <summary>etcd endpoints (comma-separated URLs); empty runs the node standalone.</summary>
    public string Etcd { get; set; } = "";

    /// <summary>A fixed member list, <c>id@clienthost:port@peerhost:port,...</c>, for a cluster without etcd.</summary>
    public string Members { get; set; } = "";

    /// <summary>This node's id in the cluster.</summary>
    public string NodeId { get; set; } = "";

    /// <summary>Whether this node is part of a cluster (and so listens on its peer port).</summary>
    public bool Clustered => Etcd.Length > 0 || Members.Length > 0;

    /// <summary>Port other nodes forward commands to; 0 means the client port + 10000.</summary>
    public int PeerPort { get; set; }

    /// <summary>Secret peers present on the peer port (ESTORAJE.PEER).</summary>
    public string ClusterSecret { get; set; } = "";

    /// <summary>The peer port in effect.</summary>
    public int EffectivePeerPort => PeerPort != 0 ? PeerPort : Port + 10000;

    /// <summary>redis-server style flags whose names differ from the property names.</summary>
    public static IDictionary<string, string> SwitchMappings { get; } = new Dictionary<string, string>
    {
        ["--proto-max-bulk-len"] = nameof(ProtoMaxBulkLen),
        ["--client-query-buffer-limit"] = nameof(ClientQueryBufferLimit),
        ["--inline-completions"] = nameof(InlineCompletions),
        ["--peer-port"] = nameof(PeerPort),
        ["--cluster-secret"] = nameof(ClusterSecret),
        ["--node-id"] = nameof(NodeId),
        ["--segment-size"] = nameof(SegmentSize),
        ["--tombstone-grace"] = nameof(TombstoneGrace),
    };

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

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

    /// <summary>Storage engine: <c>memory</c>.</summary>
    public string Storage { get; set; } = "memory";

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

    /// <summary>redis-server style flags whose names differ from the property names.</summary>
    public static IDictionary<string, string> SwitchMappings { get; } = new Dictionary<string, string>
    {
        ["--proto-max-bulk-len"] = nameof(ProtoMaxBulkLen),
        ["--client-query-buffer-limit"] = nameof(ClientQueryBufferLimit),
        ["--inline-completions"] = nameof(InlineCompletions),
    };
}

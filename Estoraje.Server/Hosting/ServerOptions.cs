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
}

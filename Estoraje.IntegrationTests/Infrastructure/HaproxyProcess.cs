using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Estoraje.IntegrationTests.Infrastructure;

/// <summary>HAProxy in TCP mode on a free loopback port, round-robin over the given nodes, as a user would deploy it.</summary>
public sealed class HaproxyProcess : ServerProcess
{
    private readonly string _config;

    private HaproxyProcess(int port, string config)
        : base("haproxy", port, CreateStartInfo(config), "Loading success.")
    {
        _config = config;
    }

    /// <summary>Starts HAProxy in front of the nodes listening on <paramref name="backendPorts"/>.</summary>
    public static async Task<HaproxyProcess> StartAsync(IEnumerable<int> backendPorts)
    {
        var ports = backendPorts.ToList();
        var config = Path.Combine(Path.GetTempPath(), $"estoraje-haproxy-{Guid.NewGuid():N}.cfg");
        var proxy = await StartAsync(port =>
        {
            File.WriteAllText(config, Config(port, ports));
            return new HaproxyProcess(port, config);
        });
        return proxy;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        File.Delete(_config);
    }

    private static string Config(int port, List<int> backends)
    {
        // maxconn 4096: 10000 exceeds the open-file limit here (shared/NOTES.md).
        var text = new StringBuilder($$"""
            global
                maxconn 4096
            defaults
                mode tcp
                timeout connect 2s
                timeout client 120s
                timeout server 120s
            frontend estoraje
                bind 127.0.0.1:{{port}}
                default_backend nodes
            backend nodes
                balance roundrobin

            """);
        for (var i = 0; i < backends.Count; i++)
            text.Append(CultureInfo.InvariantCulture, $"    server node{i} 127.0.0.1:{backends[i]} check inter 500ms\n");
        return text.ToString();
    }

    private static ProcessStartInfo CreateStartInfo(string config)
    {
        var info = new ProcessStartInfo("haproxy") { WorkingDirectory = Path.GetTempPath() };
        foreach (var argument in (string[])["-W", "-db", "-f", config])
            info.ArgumentList.Add(argument);
        return info;
    }
}

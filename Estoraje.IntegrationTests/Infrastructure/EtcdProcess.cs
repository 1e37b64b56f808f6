using System.Diagnostics;
using System.Globalization;
using System.Net.Http;

namespace Estoraje.IntegrationTests.Infrastructure;

/// <summary>
/// A real single-member etcd (Debian's <c>etcd-server</c>, on the PATH) on free loopback ports, with its own data
/// directory under the temp folder: ready once it says so and <c>/health</c> answers true; killed by its PID and
/// its data directory deleted on dispose. Short heartbeat and election timeouts make it healthy in well under a
/// second and let leases as short as 1 s be granted.
/// </summary>
public sealed class EtcdProcess : ServerProcess
{
    private static readonly TimeSpan s_healthTimeout = TimeSpan.FromSeconds(15);

    private readonly string _dataDir;
    private readonly int _peerPort;
    private bool _keepData;

    private EtcdProcess(int clientPort, int peerPort, string dataDir)
        : base("etcd", clientPort, CreateStartInfo(clientPort, peerPort, dataDir), "ready to serve client requests")
    {
        _dataDir = dataDir;
        _peerPort = peerPort;
    }

    /// <summary>The client URL, as <c>--etcd</c> takes it.</summary>
    public string Endpoint => $"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public static async Task<EtcdProcess> StartAsync()
    {
        var etcd = await StartAsync(port => new EtcdProcess(port, FreePort(), Directory.CreateTempSubdirectory("estoraje-etcd-").FullName));
        try
        {
            await etcd.WaitUntilHealthyAsync();
            return etcd;
        }
        catch
        {
            await etcd.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills etcd (kill -9) and keeps its data directory, for <see cref="StartAgainAsync"/>.</summary>
    public ValueTask KillKeepingDataAsync()
    {
        _keepData = true;
        return DisposeAsync();
    }

    /// <summary>Starts a killed etcd again on the same ports with the same data (members, leases, revisions).</summary>
    public async Task<EtcdProcess> StartAgainAsync()
    {
        var etcd = await StartOnPortAsync(new EtcdProcess(Port, _peerPort, _dataDir));
        try
        {
            await etcd.WaitUntilHealthyAsync();
            return etcd;
        }
        catch
        {
            await etcd.DisposeAsync();
            throw;
        }
    }

    private protected override void OnKilled()
    {
        if (_keepData)
            return;
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Never created: etcd exited first.
        }
    }

    private async Task WaitUntilHealthyAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + s_healthTimeout;
        while (true)
        {
            try
            {
                var body = await http.GetStringAsync(new Uri(Endpoint + "/health"));
                if (body.Contains("\"health\":\"true\"", StringComparison.Ordinal))
                    return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not serving yet.
            }

            if (HasExited || DateTime.UtcNow > deadline)
                throw new ServerStartException($"etcd on port {Port} did not become healthy within {s_healthTimeout}.{Environment.NewLine}{Output}");
            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }

    private static ProcessStartInfo CreateStartInfo(int clientPort, int peerPort, string dataDir)
    {
        var client = $"http://127.0.0.1:{clientPort.ToString(CultureInfo.InvariantCulture)}";
        var peer = $"http://127.0.0.1:{peerPort.ToString(CultureInfo.InvariantCulture)}";
        var info = new ProcessStartInfo("etcd") { WorkingDirectory = dataDir };
        foreach (var argument in (string[])["--name", "n1", "--data-dir", Path.Combine(dataDir, "data"),
                     "--listen-client-urls", client, "--advertise-client-urls", client,
                     "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "n1=" + peer,
                     "--heartbeat-interval", "20", "--election-timeout", "200"])
            info.ArgumentList.Add(argument);
        return info;
    }
}

/// <summary>One etcd shared by the tests of a class; tests keep apart by cluster name.</summary>
public sealed class EtcdFixture : IAsyncLifetime
{
    private EtcdProcess? _etcd;

    public EtcdProcess Etcd => _etcd ?? throw new InvalidOperationException("etcd is not started.");

    public async Task InitializeAsync() => _etcd = await EtcdProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (_etcd is not null)
            await _etcd.DisposeAsync();
    }
}

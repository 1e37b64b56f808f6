using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace Estoraje.IntegrationTests.Infrastructure;

/// <summary>
/// A server child process on a loopback port: started on a port that was free a moment before, ready once it
/// logs that it accepts connections and the port answers, killed by its PID on dispose. Its stdout and stderr
/// are kept for failure messages.
/// </summary>
public abstract class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_stopTimeout = TimeSpan.FromSeconds(15);

    // Every child still running, so none outlives the test run even when a fixture never gets disposed.
    private static readonly ConcurrentDictionary<int, Process> s_running = new();

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _readyMarker;
    private int _disposed;

    static ServerProcess() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var process in s_running.Values)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }
    };

    private protected ServerProcess(string name, int port, ProcessStartInfo startInfo, string readyMarker)
    {
        Name = name;
        Port = port;
        _readyMarker = readyMarker;
        startInfo.UseShellExecute = false;
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        startInfo.RedirectStandardInput = true;
        _process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => OnOutput("out", e.Data);
        _process.ErrorDataReceived += (_, e) => OnOutput("err", e.Data);
        _process.Exited += (_, _) => _ready.TrySetException(new ServerStartException(
            $"{Name} exited with code {SafeExitCode()} before it was ready on port {Port}.{Environment.NewLine}{Output}"));
        if (!_process.Start())
            throw new ServerStartException($"{Name} did not start.");
        ProcessId = _process.Id;
        s_running[ProcessId] = _process;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>What the process is, for messages.</summary>
    public string Name { get; }

    /// <summary>The loopback port it listens on.</summary>
    public int Port { get; }

    /// <summary>Its PID.</summary>
    public int ProcessId { get; }

    /// <summary>Everything it wrote so far, stdout and stderr interleaved by arrival.</summary>
    public string Output => string.Join(Environment.NewLine, _output);

    public bool HasExited => _process.HasExited;

    /// <summary>Waits for the process to exit by itself (SHUTDOWN) and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} (PID {ProcessId}) did not exit within {timeout}.{Environment.NewLine}{Output}");
        }

        return _process.ExitCode;
    }

    /// <summary>Kills the process by its PID (when still running) and checks that it is gone.</summary>
    public virtual async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        GC.SuppressFinalize(this);
        try
        {
            if (!_process.HasExited)
            {
                using var byPid = Process.GetProcessById(ProcessId);
                byPid.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // It exited between the check and the kill.
        }

        using (var cts = new CancellationTokenSource(s_stopTimeout))
            await _process.WaitForExitAsync(cts.Token);
        s_running.TryRemove(ProcessId, out _);
        _process.Dispose();
        Assert.False(IsRunning(ProcessId), $"{Name} (PID {ProcessId}) is still running after it was killed.");
        OnKilled();
    }

    /// <summary>Runs once the process is gone (e.g. to delete its data directory).</summary>
    private protected virtual void OnKilled()
    {
    }

    /// <summary>Waits until the process has written <paramref name="text"/> (stdout or stderr).</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{Name} (PID {ProcessId}) did not write '{text}' within {timeout}.{Environment.NewLine}{Output}");
            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }

    /// <summary>Starts a server on a port chosen by the caller (when other servers must know it beforehand).</summary>
    private protected static async Task<T> StartOnPortAsync<T>(T server)
        where T : ServerProcess
    {
        try
        {
            await server.WaitUntilReadyAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private protected static async Task<T> StartAsync<T>(Func<int, T> create)
        where T : ServerProcess
    {
        // The port is free when reserved but another process may take it before the child binds it: the
        // child then exits at once, and a new port is tried.
        for (var attempt = 1; ; attempt++)
        {
            var server = create(FreePort());
            try
            {
                await server.WaitUntilReadyAsync();
                return server;
            }
            catch (ServerStartException) when (attempt < 3 && server.HasExited)
            {
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    // Ports handed out walk a range below Linux's ephemeral one (32768–60999), from a random start: a port the OS
    // picked for port 0 could be taken by any outgoing connection of a concurrent test before the child binds it.
    private const int FirstPort = 20000;
    private const int PortCount = 12000;
    private static int s_nextPort = Random.Shared.Next(PortCount);

    /// <summary>
    /// A loopback port nobody listens on right now, below the ephemeral range, not handed out before by this
    /// process (until the range wraps).
    /// </summary>
    public static int FreePort()
    {
        while (true)
        {
            var port = FirstPort + (int)((uint)Interlocked.Increment(ref s_nextPort) % PortCount);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                listener.Stop();
                return port;
            }
            catch (SocketException)
            {
                // Taken: the next one.
            }
        }
    }

    private async Task WaitUntilReadyAsync()
    {
        using var cts = new CancellationTokenSource(s_startTimeout);
        try
        {
            await _ready.Task.WaitAsync(cts.Token);
            // The log line comes once the socket listens; connecting proves the port is this process's.
            while (true)
            {
                using var probe = new TcpClient();
                try
                {
                    await probe.ConnectAsync(IPAddress.Loopback, Port, cts.Token);
                    return;
                }
                catch (SocketException) when (_process.HasExited)
                {
                    throw new ServerStartException($"{Name} exited with code {SafeExitCode()} on port {Port}.{Environment.NewLine}{Output}");
                }
                catch (SocketException)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(20), cts.Token);
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new ServerStartException($"{Name} was not ready on port {Port} within {s_startTimeout}.{Environment.NewLine}{Output}");
        }
    }

    private void OnOutput(string stream, string? line)
    {
        if (line is null)
            return;
        _output.Enqueue($"[{stream}] {line}");
        if (line.Contains(_readyMarker, StringComparison.Ordinal))
            _ready.TrySetResult();
    }

    private string SafeExitCode()
    {
        try
        {
            return _process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}

/// <summary>The Estoraje server binary built next to these tests: <c>dotnet estoraje-server.dll --port P --bind 127.0.0.1</c>.</summary>
public sealed class EstorajeServerProcess : ServerProcess
{
    // A data directory of its own unless the test gives one: two servers may not share the log store's files.
    private readonly string? _ownDir;

    private EstorajeServerProcess(int port, IReadOnlyList<string> arguments)
        : this(port, arguments, arguments.Contains("--dir") ? null : Directory.CreateTempSubdirectory("estoraje-test-").FullName)
    {
    }

    private EstorajeServerProcess(int port, IReadOnlyList<string> arguments, string? ownDir)
        : base("estoraje-server", port, CreateStartInfo(port, ownDir is null ? arguments : [.. arguments, "--dir", ownDir]),
            $"Ready to accept connections on port {port}")
    {
        _ownDir = ownDir;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_ownDir is not null && Directory.Exists(_ownDir))
            Directory.Delete(_ownDir, recursive: true);
    }

    /// <summary>Starts a server; <paramref name="arguments"/> adds flags such as <c>--requirepass</c>.</summary>
    public static Task<EstorajeServerProcess> StartAsync(params string[] arguments) =>
        StartAsync(port => new EstorajeServerProcess(port, arguments));

    /// <summary>Starts a server on <paramref name="port"/> (reserved by the caller with <see cref="ServerProcess.FreePort"/>).</summary>
    public static Task<EstorajeServerProcess> StartOnPortAsync(int port, params string[] arguments) =>
        StartOnPortAsync(new EstorajeServerProcess(port, arguments));

    /// <summary>
    /// Estoraje.Server/bin/&lt;Configuration&gt;/&lt;tfm&gt;/estoraje-server.dll, found from this assembly's own build
    /// output (same configuration and target framework); ESTORAJE_SERVER_DLL overrides it.
    /// </summary>
    public static string ServerDll { get; } = FindServerDll();

    private static ProcessStartInfo CreateStartInfo(int port, IReadOnlyList<string> arguments)
    {
        var info = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = Path.GetDirectoryName(ServerDll)!,
        };
        info.ArgumentList.Add(ServerDll);
        info.ArgumentList.Add("--port");
        info.ArgumentList.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.ArgumentList.Add("--bind");
        info.ArgumentList.Add("127.0.0.1");
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);

        // The server also reads ESTORAJE_* variables: none from the environment of the test run may leak in.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("ESTORAJE_", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(name);
        return info;
    }

    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : "dotnet";
    }

    private static string FindServerDll()
    {
        var overridden = Environment.GetEnvironmentVariable("ESTORAJE_SERVER_DLL");
        if (!string.IsNullOrEmpty(overridden))
            return overridden;

        var here = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = typeof(EstorajeServerProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var framework = here.Name.StartsWith("net", StringComparison.Ordinal) ? here.Name : "net10.0";
        for (var dir = here; dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Estoraje.sln")))
                continue;
            var dll = Path.Combine(dir.FullName, "Estoraje.Server", "bin", configuration, framework, "estoraje-server.dll");
            return File.Exists(dll)
                ? dll
                : throw new FileNotFoundException($"The server is not built: {dll} is missing (build Estoraje.Server in {configuration}).", dll);
        }

        throw new DirectoryNotFoundException($"No Estoraje.sln above {AppContext.BaseDirectory}.");
    }
}

/// <summary>A real <c>redis-server</c> (on the PATH) as the reference of differential tests, without persistence.</summary>
public sealed class RedisServerProcess : ServerProcess
{
    private RedisServerProcess(int port, IReadOnlyList<string> arguments)
        : base("redis-server", port, CreateStartInfo(port, arguments), "Ready to accept connections")
    {
    }

    /// <summary>Starts <c>redis-server --port P --bind 127.0.0.1 --save "" --appendonly no</c> plus <paramref name="arguments"/>.</summary>
    public static Task<RedisServerProcess> StartAsync(params string[] arguments) =>
        StartAsync(port => new RedisServerProcess(port, arguments));

    private static ProcessStartInfo CreateStartInfo(int port, IReadOnlyList<string> arguments)
    {
        var info = new ProcessStartInfo("redis-server") { WorkingDirectory = Path.GetTempPath() };
        foreach (var argument in (string[])["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"])
            info.ArgumentList.Add(argument);
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        return info;
    }
}

/// <summary>A server process that exited or stayed silent instead of becoming ready.</summary>
public sealed class ServerStartException : Exception
{
    public ServerStartException()
    {
    }

    public ServerStartException(string message)
        : base(message)
    {
    }

    public ServerStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

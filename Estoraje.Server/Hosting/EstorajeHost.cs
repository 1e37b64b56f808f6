using Estoraje.Server.Cluster;
using Estoraje.Server.Network;
using Estoraje.Storage;
using Estoraje.Storage.Log;
using Estoraje.Storage.Memory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Estoraje.Server.Hosting;

/// <summary>Builds and runs one node: configuration, store, listener, background expiry.</summary>
public static class EstorajeHost
{
    /// <summary>Runs until SIGTERM, Ctrl+C or SHUTDOWN; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { Args = args });
        builder.Configuration
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables("ESTORAJE_")
            .AddCommandLine(args, ServerOptions.SwitchMappings);

        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
            o.ColorBehavior = LoggerColorBehavior.Disabled;
        });

        if (ServerOptions.ConvertSizes(builder.Configuration) is { } sizeError)
        {
            Console.Error.WriteLine($"Invalid configuration: {sizeError}");
            return 2;
        }

        var options = new ServerOptions();
        try
        {
            builder.Configuration.Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            // A value of the wrong form (--port abc, --event-loops two): say which, don't crash.
            Console.Error.WriteLine($"Invalid configuration: {ex.Message} {ex.InnerException?.Message}");
            return 2;
        }
        if (options.Storage is not ("memory" or "log"))
        {
            Console.Error.WriteLine($"Unknown storage engine '{options.Storage}' (supported: memory, log).");
            return 2;
        }

        if (ParseFsync(options.AppendFsync) is null)
        {
            Console.Error.WriteLine($"Invalid appendfsync '{options.AppendFsync}' (always, everysec or no).");
            return 2;
        }

        if ((options.MaxMemory.Length > 0 && ServerOptions.ParseMemory(options.MaxMemory) is null) ||
            ServerOptions.ParseMemory(options.SegmentSize) is not (> 0 and <= 1L << 30))
        {
            Console.Error.WriteLine("Invalid maxmemory or segment-size: a size such as 100mb (segments at most 1gb).");
            return 2;
        }

        if ((options.ValidateNetwork() ?? options.ValidateCluster()) is { } error)
        {
            Console.Error.WriteLine($"Invalid configuration: {error}");
            return 2;
        }

        NodeIdentity identity;
        try
        {
            identity = NodeIdentity.Resolve(options);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"Cannot read or write the node id in '{options.Dir}': {ex.Message}");
            return 2;
        }

        // Read once by the runtime when the first socket is created, so it must be set before listening.
        const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
        if (options.InlineCompletions && Environment.GetEnvironmentVariable(InlineCompletions) is null)
            Environment.SetEnvironmentVariable(InlineCompletions, "1");

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<TimeProvider>(CommandClock.OverSystem);
        builder.Services.AddSingleton(identity);
        if (options.IsClustered)
        {
            builder.Services.AddSingleton(sp => new EtcdMembership(options, identity, sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<EtcdMembership>>(), sp.GetRequiredService<IKeyValueStore>().Clock)
            {
                JoinWithSync = sp.GetRequiredService<IKeyValueStore>() is ISlotIndex,
            });
            builder.Services.AddSingleton<IClusterMembership>(sp => sp.GetRequiredService<EtcdMembership>());
        }
        else
        {
            builder.Services.AddSingleton<IClusterMembership>(StaticMembership.For(options, identity));
        }

        builder.Services.AddSingleton<IKeyValueStore>(sp => CreateStore(options, sp));
        builder.Services.AddSingleton(sp => new ServerContext(
            options,
            sp.GetRequiredService<IKeyValueStore>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IHostApplicationLifetime>().StopApplication,
            sp.GetRequiredService<ILogger<ServerContext>>(),
            sp.GetRequiredService<IClusterMembership>())
        {
            // The log store is read from disk by StoreLoader while the listener already answers (-LOADING).
            Loading = sp.GetRequiredService<IKeyValueStore>() is LogStore { IsOpen: false },
        });
        // The empty builder registers no lifetime: without this, SIGTERM and Ctrl+C would not stop the host.
        builder.Services.AddSingleton<IHostLifetime, Microsoft.Extensions.Hosting.Internal.ConsoleLifetime>();
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        // Handing the slots over on SIGTERM takes as long as syncing them does.
        if (options.LeaveOnShutdown)
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(30));
        builder.Services.AddHostedService<StoreLoader>();
        builder.Services.AddHostedService<SlotSync>();
        builder.Services.AddHostedService<HintedHandoff>();
        builder.Services.AddHostedService<RespListener>();
        builder.Services.AddHostedService<ActiveExpiry>();
        builder.Services.AddHostedService<BackgroundCompaction>();
        // Registered after the listener so that it stops first: the node leaves the ring before it closes connections.
        if (options.IsClustered)
            builder.Services.AddHostedService(sp => sp.GetRequiredService<EtcdMembership>());
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));

        using var host = builder.Build();
        try
        {
            await host.RunAsync();
            return 0;
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or FormatException)
        {
            Console.Error.WriteLine($"Cannot start: {ex.Message}");
            return 1;
        }
    }

    /// <summary>The <c>appendfsync</c> policy named by <paramref name="text"/>, or null.</summary>
    internal static FsyncPolicy? ParseFsync(string text) => text.ToLowerInvariant() switch
    {
        "always" => FsyncPolicy.Always,
        "everysec" => FsyncPolicy.EverySecond,
        "no" => FsyncPolicy.No,
        _ => null,
    };

    private static IKeyValueStore CreateStore(ServerOptions options, IServiceProvider services)
    {
        var time = services.GetRequiredService<TimeProvider>();
        if (options.Storage == "memory")
            return new MemoryStore(time);

        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Estoraje.Storage");
        var maxMemory = ServerOptions.ParseMemory(options.MaxMemory) ?? 0;
        return new LogStore(new LogStoreOptions
        {
            Directory = Path.GetFullPath(options.Dir),
            Fsync = ParseFsync(options.AppendFsync)!.Value,
            CacheBytes = maxMemory > 0 ? maxMemory : LogStoreOptions.DefaultCacheBytes(),
            SegmentSize = ServerOptions.ParseMemory(options.SegmentSize)!.Value,
            TombstoneGrace = TimeSpan.FromSeconds(Math.Max(0, options.TombstoneGrace)),
            Log = (kind, message) =>
            {
                if (kind == StoreEvent.Damage)
                    StoreLog.Damage(logger, message);
                else
                    StoreLog.Information(logger, message);
            },
        }, time);
    }
}

/// <summary>The log store's own messages, at the level of their kind.</summary>
internal static partial class StoreLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "{Message}")]
    public static partial void Damage(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Message}")]
    public static partial void Information(ILogger logger, string message);
}

/// <summary>
/// Recovers the log store from disk in the background while the listener already accepts connections and
/// answers <c>-LOADING</c>, as Redis does while it loads its AOF. A store that cannot be opened stops the node.
/// </summary>
internal sealed partial class StoreLoader(ServerContext server, IHostApplicationLifetime lifetime, ILogger<StoreLoader> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (server.Store is not LogStore { IsOpen: false } store)
            return;
        try
        {
            await Task.Run(store.Recover, CancellationToken.None);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            LogCannotOpen(ex, store.Options.Directory);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
            return;
        }

        var report = store.Recovery!;
        LogLoaded(store.Count, report.Records, report.Segments, (long)report.Elapsed.TotalMilliseconds);
        if (report.Damaged.Count > 0)
            LogDamage(report.Damaged.Count);
        server.Loading = false;
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Cannot open the data directory {Directory}")]
    private partial void LogCannotOpen(Exception ex, string directory);

    [LoggerMessage(Level = LogLevel.Information, Message = "DB loaded from disk: {Keys} keys from {Records} records in {Segments} segments, {Milliseconds} ms")]
    private partial void LogLoaded(long keys, long records, int segments, long milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recovery found {Ranges} damaged ranges (logged above); every intact record was loaded")]
    private partial void LogDamage(int ranges);
}

/// <summary>
/// Reclaims expired keys nobody reads: Redis's active expiry cycle, <c>hz</c> times a second. It also reports,
/// once, a store that stopped accepting writes after a disk error.
/// </summary>
internal sealed partial class ActiveExpiry(ServerContext server, ILogger<ActiveExpiry> logger) : BackgroundService
{
    private bool _writeErrorReported;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var period = TimeSpan.FromMilliseconds(1000.0 / Math.Max(1, server.Options.Hz));
            try
            {
                await Task.Delay(period, server.Time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // A quarter of each period at most, as Redis's slow cycle.
            if (!server.Loading)
                server.Store.ExpireCycle(period / 4);
            if (!_writeErrorReported && server.Store.WriteError is { } error)
            {
                _writeErrorReported = true;
                LogWriteError(logger, error);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Error writing to the append-only log: {Reason}. Writes are refused (-MISCONF) until the server is restarted with room on its disk.")]
    private static partial void LogWriteError(ILogger logger, string reason);
}

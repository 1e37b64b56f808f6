using Estoraje.Storage.Log;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Estoraje.Server.Hosting;

/// <summary>
/// Runs the log store's compactions one at a time on a thread that yields to the event loops
/// (<see cref="IdleThread"/>, for its first <see cref="IdleFor"/>): the periodic ones (segments past the
/// dead-ratio threshold) and those BGREWRITEAOF asks for (every segment, the active one sealed first); each
/// pass also writes the hint files of segments sealed since the last one.
/// </summary>
internal sealed class CompactionScheduler(LogStore store, double deadRatio)
{
    // A compaction rewriting a gigabyte of garbage takes 1–2 s of a core on the benchmark machine.
    internal static readonly TimeSpan IdleFor = TimeSpan.FromSeconds(5);

    private int _running;

    public bool InProgress => Volatile.Read(ref _running) != 0;

    /// <summary>Whether the last compaction failed (INFO aof_last_bgrewrite_status).</summary>
    public bool LastFailed { get; private set; }

    /// <summary>Seconds the last compaction took; -1 before the first (INFO aof_last_rewrite_time_sec).</summary>
    public long LastSeconds { get; private set; } = -1;

    public Exception? LastError { get; private set; }

    /// <summary>The compaction running or last run.</summary>
    public Task Current { get; private set; } = Task.CompletedTask;

    /// <summary>Starts a compaction unless one is running; <paramref name="full"/> rewrites every segment.</summary>
    public bool TryStart(bool full)
    {
        if (Interlocked.CompareExchange(ref _running, 1, 0) != 0)
            return false;
        Current = IdleThread.Run("estoraje-compact", () => Run(full), IdleFor);
        return true;
    }

    private void Run(bool full)
    {
        try
        {
            var result = store.Compact(full ? 0 : deadRatio, sealActive: full);
            LastSeconds = (long)result.Elapsed.TotalSeconds;
            LastFailed = false;
            // Segments sealed since the last pass get their hint files: the next start reads less.
            store.WriteMissingHints();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            // The store stays as it was: the old segments are deleted only after a complete rewrite.
            LastFailed = true;
            LastError = ex;
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }
}

/// <summary>Checks every few seconds whether a sealed segment has enough dead bytes to be worth rewriting.</summary>
internal sealed partial class BackgroundCompaction(ServerContext server, ILogger<BackgroundCompaction> logger) : BackgroundService
{
    private static readonly TimeSpan s_period = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (server.Compaction is not { } compaction)
            return;
        Exception? reported = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(s_period, server.Time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (!server.Loading)
                compaction.TryStart(full: false);
            if (compaction.LastError is { } error && !ReferenceEquals(error, reported))
            {
                reported = error;
                LogFailed(error);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Compaction failed; the segments it was rewriting are kept")]
    private partial void LogFailed(Exception ex);
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Estoraje.IntegrationTests.Infrastructure;

/// <summary>
/// Clients writing distinct keys (and, mixed, reading and deleting them) through one port (a load balancer)
/// until stopped, as an application would:
/// a failed connection is reopened and the next key written. Records every acknowledged write (key → value)
/// and when each success and each failure happened, so a test can check that nothing acknowledged was lost
/// and how long the load was disturbed.
/// </summary>
public sealed class WriteLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _writers;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _lastFailureTicks = -1;
    private long _lastSuccessTicks = -1;
    private long _successes;
    private long _failures;

    private readonly bool _mixed;

    private WriteLoad(int port, int writers, string prefix, bool mixed)
    {
        _mixed = mixed;
        _writers = [.. Enumerable.Range(0, writers).Select(w => Task.Run(() => WriteAsync(port, $"{prefix}:{w}")))];
    }

    /// <summary>Keys deleted with an acknowledged DEL (mixed load): they must never come back.</summary>
    public ConcurrentDictionary<string, bool> Deleted { get; } = new();

    /// <summary>Reads that returned something else than the last acknowledged write (mixed load): must stay empty.</summary>
    public ConcurrentQueue<string> WrongReads { get; } = new();

    /// <summary>Writes acknowledged with +OK: key → value.</summary>
    public ConcurrentDictionary<string, string> Acknowledged { get; } = new();

    /// <summary>Failures seen (error replies, dropped connections) with their text, for messages.</summary>
    public ConcurrentQueue<string> FailureTexts { get; } = new();

    public long Successes => Interlocked.Read(ref _successes);

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Time since the load started.</summary>
    public TimeSpan Now => _clock.Elapsed;

    /// <summary>When the last failure happened (since the start), or null.</summary>
    public TimeSpan? LastFailure => Ticks(Interlocked.Read(ref _lastFailureTicks));

    /// <summary>Starts <paramref name="writers"/> clients; <paramref name="mixed"/> adds reads of earlier writes and deletes.</summary>
    public static WriteLoad Start(int port, int writers, string prefix, bool mixed = false) => new(port, writers, prefix, mixed);

    /// <summary>Completes once <paramref name="count"/> more writes were acknowledged.</summary>
    public async Task WaitForSuccessesAsync(long count, TimeSpan timeout)
    {
        var target = Successes + count;
        var deadline = _clock.Elapsed + timeout;
        while (Successes < target)
        {
            if (_clock.Elapsed > deadline)
                Assert.Fail($"The load did not get {count} writes acknowledged within {timeout}; last failures: {string.Join(" | ", FailureTexts.TakeLast(5))}");
            await Task.Delay(20);
        }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_writers);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private async Task WriteAsync(int port, string prefix)
    {
        RespConnection? connection = null;
        for (var i = 0; !_stop.IsCancellationRequested; i++)
        {
            var key = $"{prefix}:{i.ToString(CultureInfo.InvariantCulture)}";
            var value = $"v{i.ToString(CultureInfo.InvariantCulture)}";
            try
            {
                connection ??= await RespConnection.ConnectAsync(port);
                var reply = await connection.CommandAsync("SET", key, value);
                if (reply != "+OK\r\n")
                {
                    Failed(reply.TrimEnd());
                }
                else
                {
                    Acknowledged[key] = value;
                    Succeeded();
                    if (_mixed && i % 2 == 1)
                        await ReadAndDeleteAsync(connection, prefix, i);
                    continue;
                }
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or EndOfStreamException or TimeoutException or OperationCanceledException)
            {
                Failed(ex.GetType().Name + ": " + ex.Message);
                if (connection is not null)
                    await connection.DisposeAsync();
                connection = null;
            }

            // Failing fast against a dead backend would spin: a real client backs off a little too.
            await Task.Delay(5, CancellationToken.None);
        }

        if (connection is not null)
            await connection.DisposeAsync();
    }

    // Mixed load: reads back an earlier write of this writer (it must hold what was acknowledged, or be missing if
    // deleted), and deletes every tenth key, recording the acknowledged deletes.
    private async Task ReadAndDeleteAsync(RespConnection connection, string prefix, int i)
    {
        var earlier = $"{prefix}:{(i / 2).ToString(CultureInfo.InvariantCulture)}";
        var reply = await connection.CommandAsync("GET", earlier);
        var expected = Acknowledged.TryGetValue(earlier, out var value) ? $"${value.Length}\r\n{value}\r\n"
            : Deleted.ContainsKey(earlier) ? "$-1\r\n" : null;
        if (reply.StartsWith('-'))
            Failed(reply.TrimEnd());
        else if (expected is not null && reply != expected)
            WrongReads.Enqueue($"{earlier}: expected {expected.TrimEnd()}, read {reply.TrimEnd()}");
        else
            Succeeded();

        if ((i / 2) % 10 == 0 && Acknowledged.ContainsKey(earlier))
        {
            var deleted = await connection.CommandAsync("DEL", earlier);
            if (deleted == ":1\r\n")
            {
                Acknowledged.TryRemove(earlier, out _);
                Deleted[earlier] = true;
                Succeeded();
            }
            else
            {
                Failed(deleted.TrimEnd());
            }
        }
    }

    private void Succeeded()
    {
        Interlocked.Increment(ref _successes);
        Interlocked.Exchange(ref _lastSuccessTicks, _clock.Elapsed.Ticks);
    }

    private void Failed(string text)
    {
        Interlocked.Increment(ref _failures);
        Interlocked.Exchange(ref _lastFailureTicks, _clock.Elapsed.Ticks);
        FailureTexts.Enqueue($"{_clock.Elapsed.TotalSeconds:F2}s {text}");
    }

    private static TimeSpan? Ticks(long ticks) => ticks < 0 ? null : TimeSpan.FromTicks(ticks);
}

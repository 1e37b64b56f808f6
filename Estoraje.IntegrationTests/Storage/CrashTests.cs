using System.Diagnostics;
using System.Globalization;
using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests.Storage;

/// <summary>
/// kill -9 during a concurrent write load with <c>--storage log --appendfsync always</c>: after a restart,
/// every acknowledged write is there, and nothing that was never sent. Under <c>everysec</c> the same holds for a
/// crash of the process (not of the machine): a reply leaves only once its write is in the OS's hands.
/// </summary>
public sealed class CrashTests : IDisposable
{
    private const int Writers = 8;
    private readonly string _dir = Directory.CreateTempSubdirectory("estoraje-crash-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(1, "always")]
    [InlineData(2, "always")]
    [InlineData(3, "always")]
    [InlineData(4, "always")]
    [InlineData(5, "always")]
    [InlineData(6, "always")]
    [InlineData(7, "always")]
    [InlineData(8, "always")]
    [InlineData(9, "always")]
    [InlineData(10, "always")]
    [InlineData(11, "everysec")]
    [InlineData(12, "everysec")]
    [InlineData(13, "everysec")]
    [InlineData(14, "everysec")]
    public async Task Every_acknowledged_write_survives_kill_9(int seed, string appendFsync)
    {
        var random = new Random(seed);
        // Small segments under always: segments roll during the load, from zero-filled spares, so the kill finds
        // the active segment's file longer than its records (the start cuts the zeros).
        string[] arguments = ["--storage", "log", "--dir", _dir, "--appendfsync", appendFsync, .. appendFsync == "always" ? ["--segment-size", "256kb"] : Array.Empty<string>()];
        var acknowledged = new int[Writers];
        var sent = new int[Writers];

        var server = await EstorajeServerProcess.StartAsync(arguments);
        try
        {
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                await using var connection = await RespConnection.ConnectAsync(server.Port);
                try
                {
                    for (var i = 1; !stop.IsCancellationRequested; i++)
                    {
                        Volatile.Write(ref sent[w], i);
                        var reply = await connection.CommandAsync("SET", Key(w, i), Value(seed, w, i));
                        Assert.Equal("+OK\r\n", reply);
                        Volatile.Write(ref acknowledged[w], i);
                    }
                }
                catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or EndOfStreamException or TimeoutException or OperationCanceledException)
                {
                    // The server was killed under this writer.
                }
            })).ToArray();

            // A random moment, once every writer has had some writes acknowledged.
            var deadline = Stopwatch.StartNew();
            while (acknowledged.Any(a => Volatile.Read(ref a) < 5) && deadline.Elapsed < TimeSpan.FromSeconds(20))
                await Task.Delay(10);
            await Task.Delay(random.Next(20, 400));
            using (var victim = Process.GetProcessById(server.ProcessId))
                victim.Kill();
            stop.Cancel();
            await Task.WhenAll(writers);
        }
        finally
        {
            await server.DisposeAsync();
        }

        Assert.All(acknowledged, a => Assert.True(a >= 5, "the writers got too few acknowledgements to test anything"));
        await using var restarted = await EstorajeServerProcess.StartAsync(arguments);
        await using var client = await RespConnection.ConnectAsync(restarted.Port);
        await client.WaitUntilLoadedAsync();
        for (var w = 0; w < Writers; w++)
        {
            for (var i = 1; i <= acknowledged[w]; i++)
                Assert.Equal(Bulk(Value(seed, w, i)), await client.CommandAsync("GET", Key(w, i)));

            // The write in flight may or may not have landed; none after it was ever sent.
            var inFlight = await client.CommandAsync("GET", Key(w, acknowledged[w] + 1));
            Assert.True(inFlight == "$-1\r\n" || inFlight == Bulk(Value(seed, w, acknowledged[w] + 1)), inFlight);
            Assert.Equal("$-1\r\n", await client.CommandAsync("GET", Key(w, sent[w] + 1)));
        }
    }

    private static string Key(int writer, int i) => $"crash:{writer}:{i.ToString(CultureInfo.InvariantCulture)}";

    private static string Value(int seed, int writer, int i) => $"seed{seed}-writer{writer}-write{i}";

    private static string Bulk(string value) => $"${value.Length}\r\n{value}\r\n";
}

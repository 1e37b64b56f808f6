using System.Diagnostics;
using System.Globalization;
using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests.Storage;

/// <summary>
/// The log store on a real, tiny file system (a 2 MB tmpfs, mounted by the test) that
/// fills up: writes get Redis's <c>-MISCONF</c>, reads go on, nothing acknowledged is lost, and the files left
/// behind open cleanly on a roomy disk.
/// </summary>
public sealed class DiskFullTests : IAsyncLifetime
{
    private readonly string _mount = Directory.CreateTempSubdirectory("estoraje-full-").FullName;
    private readonly string _copy = Directory.CreateTempSubdirectory("estoraje-full-copy-").FullName;

    public async Task InitializeAsync() =>
        await RunAsync("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", _mount);

    public async Task DisposeAsync()
    {
        await RunAsync("umount", _mount);
        Directory.Delete(_mount, recursive: true);
        Directory.Delete(_copy, recursive: true);
    }

    [Fact]
    public async Task A_full_disk_refuses_writes_with_MISCONF_and_keeps_serving_reads()
    {
        var value = new string('v', 64 * 1024);
        var acknowledged = 0;
        await using (var server = await EstorajeServerProcess.StartAsync("--storage", "log", "--dir", _mount, "--appendfsync", "always"))
        {
            await using (var writer = await RespConnection.ConnectAsync(server.Port))
            {
                // 2 MB hold about 30 values of 64 KB: the disk fills well before 100.
                for (var i = 0; i < 100; i++)
                {
                    string reply;
                    try
                    {
                        reply = await writer.CommandAsync("SET", Key(i), value);
                    }
                    catch (Exception ex) when (ex is IOException or EndOfStreamException or System.Net.Sockets.SocketException)
                    {
                        break; // The failed write's batch is never acknowledged: the connection is closed instead.
                    }

                    if (reply != "+OK\r\n")
                    {
                        Assert.StartsWith("-MISCONF Errors writing to the AOF file: ", reply, StringComparison.Ordinal);
                        break;
                    }

                    acknowledged = i + 1;
                }
            }

            Assert.InRange(acknowledged, 5, 40);
            await using var client = await RespConnection.ConnectAsync(server.Port);
            var refused = await client.CommandAsync("SET", "another", "x");
            Assert.StartsWith("-MISCONF Errors writing to the AOF file: ", refused, StringComparison.Ordinal);
            Assert.StartsWith("-MISCONF ", await client.CommandAsync("DEL", Key(0)), StringComparison.Ordinal);
            Assert.StartsWith("-MISCONF ", await client.CommandAsync("PING"), StringComparison.Ordinal);
            Assert.Contains("aof_last_write_status:err", await client.CommandAsync("INFO", "persistence"), StringComparison.Ordinal);
            for (var i = 0; i < acknowledged; i++)
                Assert.Equal(Bulk(value), await client.CommandAsync("GET", Key(i)));
            Assert.Equal("$-1\r\n", await client.CommandAsync("GET", "another"));
        }

        // The files of the full disk, on a disk with room: every acknowledged write is there, and writes work.
        foreach (var file in Directory.GetFiles(_mount))
            File.Copy(file, Path.Combine(_copy, Path.GetFileName(file)));
        await using var restarted = await EstorajeServerProcess.StartAsync("--storage", "log", "--dir", _copy, "--appendfsync", "always");
        await using var reader = await RespConnection.ConnectAsync(restarted.Port);
        await reader.WaitUntilLoadedAsync();
        for (var i = 0; i < acknowledged; i++)
            Assert.Equal(Bulk(value), await reader.CommandAsync("GET", Key(i)));
        Assert.Equal("+OK\r\n", await reader.CommandAsync("SET", "another", "x"));
        Assert.Contains("aof_last_write_status:ok", await reader.CommandAsync("INFO", "persistence"), StringComparison.Ordinal);
    }

    // mount and umount need root: the test script runs as root, or else through sudo as it does for apt-get.
    private static async Task RunAsync(string file, params string[] arguments)
    {
        var start = Environment.UserName == "root"
            ? new ProcessStartInfo(file, arguments)
            : new ProcessStartInfo("sudo", ["-n", file, .. arguments]);
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)} failed: {error}");
    }

    private static string Key(int i) => "full:" + i.ToString(CultureInfo.InvariantCulture);

    private static string Bulk(string value) => $"${value.Length}\r\n{value}\r\n";
}

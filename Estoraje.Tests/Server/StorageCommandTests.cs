using Estoraje.Server;
using Estoraje.Server.Hosting;
using Estoraje.Storage;
using Estoraje.Storage.Log;
using Estoraje.Storage.Memory;
using Estoraje.Tests.Support;

namespace Estoraje.Tests.Server;

/// <summary>BGREWRITEAOF and the persistence fields of INFO, over each store.</summary>
public sealed class StorageCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Bgrewriteaof_on_the_memory_store_is_refused()
    {
        using var store = new MemoryStore();
        var server = Server(store);

        Assert.Equal("-ERR BGREWRITEAOF needs the log store (--storage log)\r\n", await Run(server, "BGREWRITEAOF"));
        Assert.Contains("aof_enabled:0\r\n", await Run(server, "INFO persistence"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bgrewriteaof_on_the_log_store_rewrites_every_segment_in_the_background()
    {
        using var store = LogStore.Open(new LogStoreOptions { Directory = _dir.Path, Fsync = FsyncPolicy.No, SegmentSize = 1024, CompactionBytesPerSecond = 0 });
        var server = Server(store);
        for (var i = 0; i < 100; i++)
            await Run(server, $"SET key:{i % 10} value-{i}");
        var before = store.SegmentCount;

        Assert.Equal("+Background append only file rewriting started\r\n", await Run(server, "BGREWRITEAOF"));
        await server.Compaction!.Current.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, store.Compactions);
        Assert.True(store.SegmentCount < before);
        Assert.Equal("$8\r\nvalue-99\r\n", await Run(server, "GET key:9"));
        var info = await Run(server, "INFO persistence");
        Assert.Contains("aof_enabled:1\r\n", info, StringComparison.Ordinal);
        Assert.Contains("aof_rewrites:1\r\n", info, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Info_answers_while_recovery_holds_every_shard_lock()
    {
        using var store = LogStore.Open(new LogStoreOptions { Directory = _dir.Path, Fsync = FsyncPolicy.No });
        var server = Server(store);
        server.Loading = true;
        using var release = new ManualResetEventSlim();
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holder = Task.Run(() =>
        {
            using (store.Lock(ulong.MaxValue))
            {
                held.SetResult();
                release.Wait();
            }
        });
        await held.Task.WaitAsync(TimeSpan.FromSeconds(30));

        string info;
        try
        {
            info = await Task.Run(() => Run(server, "INFO")).WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            release.Set();
        }

        await holder.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("loading:1\r\n", info, StringComparison.Ordinal);
        Assert.Contains("estoraje_cache_hits:", info, StringComparison.Ordinal);
        Assert.Contains("estoraje_key_directory_bytes:", info, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Info_memory_reports_the_key_overhead_and_what_the_key_directory_holds()
    {
        using var store = LogStore.Open(new LogStoreOptions { Directory = _dir.Path, Fsync = FsyncPolicy.No });
        var server = Server(store);
        var empty = store.KeyDirectoryBytes;
        for (var i = 0; i < 1000; i++)
            await Run(server, $"SET key:{i} v");

        var info = await Run(server, "INFO memory");
        Assert.Contains($"estoraje_key_overhead_bytes:{LogStore.OverheadPerKey}\r\n", info, StringComparison.Ordinal);
        var held = long.Parse(info.Split("estoraje_key_directory_bytes:")[1].Split("\r\n")[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(store.KeyDirectoryBytes, held);
        Assert.True(held - empty >= 1000 * (long)LogStore.OverheadPerKey, $"{held - empty} bytes for 1000 keys");
    }

    private static ServerContext Server(IKeyValueStore store) => new(new ServerOptions(), store, TimeProvider.System, () => { });

    private static Task<string> Run(ServerContext server, string command) => CommandRunner.RunAsync(server, command.Split(' '));
}

using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Estoraje.Server.Network;
using Estoraje.Storage;
using Estoraje.Storage.Memory;

namespace Estoraje.Tests.Server.Network;

/// <summary>
/// One event loop in process, with sockets on loopback: what a pass of several ready sockets does before it runs
/// their batches. (The loops under a whole server: Estoraje.IntegrationTests/Network/EventLoopTests.)
/// </summary>
public sealed class EventLoopTests : IDisposable
{
    private readonly RecordingStore _store = new(new MemoryStore(TimeProvider.System));
    private readonly List<Exception> _failures = [];
    private readonly EventLoop[] _loops;
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly List<Socket> _sockets = [];

    public EventLoopTests()
    {
        Assert.True(EventLoop.Supported, "event loops are Linux's, and so is this suite");
        _loops = EventLoop.CreateGroup(1, _store, ex => { lock (_failures) _failures.Add(ex); });
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen();
    }

    public void Dispose()
    {
        foreach (var socket in _sockets)
            socket.Dispose();
        _listener.Dispose();
        foreach (var loop in _loops)
            loop.Dispose();
        _store.Dispose();
    }

    [Fact]
    public async Task A_pass_of_several_ready_sockets_reads_them_all_and_prefetches_their_keys_before_any_batch_runs()
    {
        const int Clients = 4;
        var clients = new Socket[Clients];
        var served = new Socket[Clients];
        var connections = new LoopConnection[Clients];
        for (var c = 0; c < Clients; c++)
        {
            (clients[c], served[c]) = await ConnectAsync();
            connections[c] = EventLoop.Add(_loops, served[c], SendOptions, Options);
        }

        // Hold the loop inside a pass while every client's request arrives: its next pass finds them all ready.
        using var entered = new ManualResetEventSlim();
        using var gate = new ManualResetEventSlim();
        _loops[0].Post(() =>
        {
            entered.Set();
            gate.Wait();
        });
        Assert.True(entered.Wait(TimeSpan.FromSeconds(10)));
        var prefetchesBefore = _store.Prefetched.Count;
        for (var c = 0; c < Clients; c++)
            await clients[c].SendAsync(Encoding.ASCII.GetBytes($"*2\r\n$3\r\nGET\r\n$5\r\nkey:{c}\r\n"));
        Assert.True(SpinWait.SpinUntil(() => served.All(s => s.Available > 0), TimeSpan.FromSeconds(10)));

        // Each batch sees the requests of the whole pass already prefetched.
        var seen = connections.Select(connection => ReadOnLoopAsync(connection.Input, () => _store.Prefetched.Count - prefetchesBefore)).ToArray();
        gate.Set();
        var batches = await Task.WhenAll(seen).WaitAsync(TimeSpan.FromSeconds(10));

        for (var c = 0; c < Clients; c++)
        {
            Assert.Equal($"*2\r\n$3\r\nGET\r\n$5\r\nkey:{c}\r\n", batches[c].Request);
            Assert.Equal(1, batches[c].PrefetchesBefore);
        }

        var keys = Assert.Single(_store.Prefetched.Skip(prefetchesBefore));
        Assert.Equal(Enumerable.Range(0, Clients).Select(c => $"key:{c}").Order(), keys.Order());
        Assert.Empty(_failures);
    }

    [Fact]
    public async Task A_single_ready_socket_runs_its_batch_at_once_without_a_prefetch()
    {
        var (client, served) = await ConnectAsync();
        var connection = EventLoop.Add(_loops, served, SendOptions, Options);
        var seen = ReadOnLoopAsync(connection.Input, () => _store.Prefetched.Count);
        await client.SendAsync(Encoding.ASCII.GetBytes("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"));

        var batch = await seen.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n", batch.Request);
        Assert.Empty(_store.Prefetched);
        Assert.Empty(_failures);
    }

    [Fact]
    public async Task Output_flushed_past_what_the_socket_takes_reaches_a_slow_reader_whole_then_the_connection_closes()
    {
        var (client, served) = await ConnectAsync();
        var connection = EventLoop.Add(_loops, served, SendOptions, Options);
        const int Chunks = 8000;
        const int ChunkSize = 4096;
        const int FlushEvery = 100;

        // The writer (on the loop's thread at first, as a batch's replies) flushes 32 MB, 400 KB at a time: most flushes find the socket full and leave
        // their bytes to the send that waits for it to drain, and past 1 MB unsent the flushes themselves wait (then
        // only the socket draining moves anything).
        var paused = 0;
        var written = new TaskCompletionSource<Task>();
        _loops[0].Post(() => written.SetResult(WriteAsync()));
        async Task WriteAsync()
        {
            for (var c = 0; c < Chunks; c++)
            {
                var span = connection.Output.GetSpan(ChunkSize);
                for (var i = 0; i < ChunkSize; i++)
                    span[i] = (byte)(c * 31 + i);
                connection.Output.Advance(ChunkSize);
                if (c % FlushEvery != FlushEvery - 1)
                    continue;
                var flush = connection.Output.FlushAsync();
                if (!flush.IsCompleted)
                    paused++;
                Assert.False((await flush).IsCompleted);
            }

            await connection.Output.CompleteAsync();
        }

        var buffer = new byte[64 * 1024];
        long received = 0;
        while (true)
        {
            var n = await client.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(30));
            if (n == 0)
                break;
            for (var i = 0; i < n; i++)
            {
                var at = received + i;
                if (buffer[i] != (byte)(at / ChunkSize * 31 + at % ChunkSize))
                    Assert.Fail($"byte {at} differs");
            }

            received += n;
            if (received < 16_000_000)
                await Task.Delay(1);
        }

        await await written.Task;
        Assert.Equal((long)Chunks * ChunkSize, received);
        Assert.True(paused > 0, "no flush waited for the socket to drain");
        Assert.Empty(_failures);
    }

    // As the server's receive pipes: the reader continues inline, on the loop's thread.
    private static PipeOptions Options { get; } = new(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false);

    // As the server's send pipes: a flush waits past 1 MB unsent, and continues on a pool thread.
    private static PipeOptions SendOptions { get; } = new(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.ThreadPool,
        pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, minimumSegmentSize: 16 * 1024, useSynchronizationContext: false);

    private async Task<(Socket Client, Socket Served)> ConnectAsync()
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _sockets.Add(client);
        var accept = _listener.AcceptAsync();
        await client.ConnectAsync(_listener.LocalEndPoint!);
        var served = await accept;
        _sockets.Add(served);
        return (client, served);
    }

    // The batch of one connection: what it read, and what the store had been asked to prefetch when it ran.
    private static async Task<(string Request, int PrefetchesBefore)> ReadOnLoopAsync(PipeReader input, Func<int> prefetches)
    {
        var result = await input.ReadAsync();
        var count = prefetches();
        var request = Encoding.ASCII.GetString(result.Buffer);
        input.AdvanceTo(result.Buffer.End);
        return (request, count);
    }

    // A memory store that records the keys it is asked to prefetch.
    private sealed class RecordingStore(IKeyValueStore inner) : IKeyValueStore
    {
        private readonly List<string[]> _prefetched = [];

        public IReadOnlyList<string[]> Prefetched
        {
            get
            {
                lock (_prefetched)
                    return [.. _prefetched];
            }
        }

        public void Prefetch(ReadOnlySpan<byte> data, ReadOnlySpan<Range> keys)
        {
            var batch = new string[keys.Length];
            for (var i = 0; i < keys.Length; i++)
                batch[i] = Encoding.ASCII.GetString(data[keys[i]]);
            lock (_prefetched)
                _prefetched.Add(batch);
        }

        public long Count => inner.Count;
        public long ExpiringCount => inner.ExpiringCount;
        public long ExpiredTotal => inner.ExpiredTotal;
        public long UsedBytes => inner.UsedBytes;
        public HybridClock Clock => inner.Clock;
        public long Now => inner.Now;
        public ulong ShardMask(ReadOnlySpan<byte> key) => inner.ShardMask(key);
        public KeyLock Lock(ReadOnlySpan<byte> key) => inner.Lock(key);
        public KeyLock Lock(ulong shardMask) => inner.Lock(shardMask);
        public bool TryGet(ReadOnlySpan<byte> key, out StoredValue value, bool touch = true) => inner.TryGet(key, out value, touch);
        public bool Exists(ReadOnlySpan<byte> key) => inner.Exists(key);
        public void SetValue(ReadOnlySpan<byte> key, ValueKind kind, byte[] value, int length, long expiresAt) => inner.SetValue(key, kind, value, length, expiresAt);
        public int Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> tail) => inner.Append(key, tail);
        public bool Remove(ReadOnlySpan<byte> key) => inner.Remove(key);
        public bool SetExpiry(ReadOnlySpan<byte> key, long expiresAt) => inner.SetExpiry(key, expiresAt);
        public void Clear() => inner.Clear();
        public ulong Scan(ulong cursor, int count, List<byte[]> keys) => inner.Scan(cursor, count, keys);
        public byte[]? RandomKey() => inner.RandomKey();
        public int ExpireCycle(TimeSpan budget) => inner.ExpireCycle(budget);
        public bool TryGetVersion(ReadOnlySpan<byte> key, out long version) => inner.TryGetVersion(key, out version);
        public long RemovedVersion(ReadOnlySpan<byte> key) => inner.RemovedVersion(key);
        public bool Apply(in StoreRecord record) => inner.Apply(record);
        public ValueTask CommitAsync() => inner.CommitAsync();
        public void Commit() => inner.Commit();
        public void Dispose() => inner.Dispose();
    }
}

using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Estoraje.Server;
using Estoraje.Server.Hosting;
using Estoraje.Server.Network;
using Estoraje.Storage;
using Estoraje.Storage.Memory;

namespace Estoraje.Tests.Server.Network;

/// <summary>
/// One event loop in process, with sockets on loopback: what a pass of several ready sockets does before it runs
/// their batches, how a connection's input and waiting batches go, and the server's own client waiting for the
/// pass's commit. (The loops under a whole server: Estoraje.IntegrationTests/Network/EventLoopTests.) The loop sleeps
/// as soon as it finds no ready socket; <see cref="BusyPollingEventLoopTests"/> runs the same tests on a loop that
/// polls first.
/// </summary>
public class EventLoopTests : IDisposable
{
    private readonly RecordingStore _store = new(new MemoryStore(TimeProvider.System));
    private readonly List<Exception> _failures = [];
    private readonly EventLoop[] _loops;
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly List<Socket> _sockets = [];

    public EventLoopTests()
        : this(TimeSpan.Zero)
    {
    }

    protected EventLoopTests(TimeSpan busyPoll)
    {
        Assert.True(EventLoop.Supported, "event loops are Linux's, and so is this suite");
        _loops = EventLoop.CreateGroup(1, _store, ex => { lock (_failures) _failures.Add(ex); }, busyPoll);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen();
    }

    public void Dispose()
    {
        GC.SuppressFinalize(this);
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
        var batches = new ScriptedClient[Clients];
        var prefetchesBefore = 0;
        for (var c = 0; c < Clients; c++)
        {
            (clients[c], served[c]) = await ConnectAsync();
            batches[c] = new ScriptedClient { OnServe = _ => _store.Prefetched.Count - prefetchesBefore };
            Add(served[c], batches[c]);
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
        prefetchesBefore = _store.Prefetched.Count;
        for (var c = 0; c < Clients; c++)
            await clients[c].SendAsync(Encoding.ASCII.GetBytes($"*2\r\n$3\r\nGET\r\n$5\r\nkey:{c}\r\n"));
        Assert.True(SpinWait.SpinUntil(() => served.All(s => s.Available > 0), TimeSpan.FromSeconds(10)));

        // Each batch sees the requests of the whole pass already prefetched.
        gate.Set();
        for (var c = 0; c < Clients; c++)
        {
            var batch = await batches[c].Batches.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal($"*2\r\n$3\r\nGET\r\n$5\r\nkey:{c}\r\n", batch.Input);
            Assert.Equal(1, batch.Seen);
        }

        var keys = Assert.Single(_store.Prefetched.Skip(prefetchesBefore));
        Assert.Equal(Enumerable.Range(0, Clients).Select(c => $"key:{c}").Order(), keys.Order());
        Assert.Empty(_failures);
    }

    [Fact]
    public async Task A_single_ready_socket_runs_its_batch_at_once_without_a_prefetch()
    {
        var (client, served) = await ConnectAsync();
        var scripted = new ScriptedClient();
        Add(served, scripted);
        await client.SendAsync(Encoding.ASCII.GetBytes("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"));

        var batch = await scripted.NextAsync();
        Assert.Equal("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n", batch.Input);
        Assert.True(batch.Received);
        Assert.Empty(_store.Prefetched);
        Assert.Empty(_failures);
    }

    [Fact]
    public async Task Output_flushed_past_what_the_socket_takes_reaches_a_slow_reader_whole_then_the_connection_closes()
    {
        var (client, served) = await ConnectAsync();
        var connection = Add(served, new ScriptedClient());
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

    [Fact]
    public async Task A_request_larger_than_the_input_buffer_reaches_the_client_whole()
    {
        var (client, served) = await ConnectAsync();
        const int Size = 200_000;
        var scripted = new ScriptedClient { Consume = batch => batch.Input.Length < Size ? 0 : batch.Input.Length };
        Add(served, scripted);
        var sent = new string(Enumerable.Range(0, Size).Select(i => (char)('a' + i % 26)).ToArray());
        for (var at = 0; at < Size; at += 50_000)
            await client.SendAsync(Encoding.ASCII.GetBytes(sent.Substring(at, 50_000)));

        // Each batch holds everything so far (nothing was consumed), until the last holds it all.
        while (true)
        {
            var batch = await scripted.NextAsync();
            Assert.StartsWith(batch.Input, sent, StringComparison.Ordinal);
            if (batch.Input.Length == Size)
                break;
        }

        Assert.Empty(_failures);
    }

    [Fact]
    public async Task Past_the_input_limit_the_socket_waits_until_the_client_consumes()
    {
        var (client, served) = await ConnectAsync();
        const int Limit = 64 * 1024;
        const int Size = 1 << 20;
        var consume = false;
        var scripted = new ScriptedClient { Consume = batch => Volatile.Read(ref consume) ? batch.Input.Length : 0 };
        var connection = Add(served, scripted, inputLimit: Limit);
        var sent = Enumerable.Range(0, Size).Select(i => (byte)('a' + i % 26)).ToArray();
        var sending = client.SendAsync(sent);

        // The input fills up to the limit and stops there.
        Batch batch;
        do
            batch = await scripted.NextAsync();
        while (batch.Input.Length < Limit);
        Assert.Equal(Limit, batch.Input.Length);

        // Consumed (the client runs on a wake-up, with nothing new), the rest is read and arrives whole.
        Volatile.Write(ref consume, true);
        connection.Wake();
        var received = new StringBuilder();
        while (received.Length < Size)
        {
            batch = await scripted.NextAsync();
            Assert.True(batch.Input.Length <= Limit, $"{batch.Input.Length} bytes unconsumed");
            received.Append(batch.Input);
        }

        await sending;
        Assert.Equal(Encoding.ASCII.GetString(sent), received.ToString());
        Assert.Empty(_failures);
    }

    [Fact]
    public async Task A_batch_that_waits_holds_the_next_one_which_then_runs_on_the_loop()
    {
        var (client, served) = await ConnectAsync();
        var first = new TaskCompletionSource<bool>();
        var scripted = new ScriptedClient { Result = batch => batch.Input == "first" ? new(first.Task) : new(true) };
        Add(served, scripted);
        await client.SendAsync(Encoding.ASCII.GetBytes("first"));
        Assert.Equal("first", (await scripted.NextAsync()).Input);

        // The loop reads what follows, but the client is not called while its batch waits.
        await client.SendAsync(Encoding.ASCII.GetBytes("second"));
        Assert.True(SpinWait.SpinUntil(() => served.Available == 0, TimeSpan.FromSeconds(10)));
        await OnLoopAsync();
        Assert.False(scripted.Batches.Reader.TryRead(out _));

        // Completed on another thread, it lets the next batch run, on the loop's thread.
        await Task.Run(() => first.SetResult(true));
        var second = await scripted.NextAsync();
        Assert.Equal("second", second.Input);
        Assert.True(second.Received);
        Assert.True(second.OnLoop);
        Assert.Empty(_failures);
    }

    [Fact]
    public async Task At_the_end_of_the_stream_the_client_runs_what_is_left_then_closes_and_the_socket_closes()
    {
        var (client, served) = await ConnectAsync();
        var connection = default(LoopConnection);
        var scripted = new ScriptedClient { Consume = _ => 0 };
        scripted.Output = () => connection!.Output;
        connection = Add(served, scripted);
        await client.SendAsync(Encoding.ASCII.GetBytes("partial"));
        Assert.Equal("partial", (await scripted.NextAsync()).Input);

        client.Shutdown(SocketShutdown.Send);
        var last = await scripted.NextAsync();
        Assert.Equal(("partial", true), (last.Input, last.Ended));
        Assert.Null(await scripted.Closing.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        var buffer = new byte[16];
        Assert.Equal(0, await client.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Empty(_failures);
    }

    [Fact]
    public async Task A_wake_runs_the_client_with_nothing_received()
    {
        var (_, served) = await ConnectAsync();
        var scripted = new ScriptedClient();
        var connection = Add(served, scripted);
        connection.Wake();

        var batch = await scripted.NextAsync();
        Assert.Equal(("", false, false, true), (batch.Input, batch.Received, batch.Ended, batch.OnLoop));
        Assert.Empty(_failures);
    }

    [Fact]
    public async Task An_aborted_connection_closes_its_socket_at_once_and_its_client_once_the_waiting_batch_completes()
    {
        var (client, served) = await ConnectAsync();
        var pending = new TaskCompletionSource<bool>();
        var scripted = new ScriptedClient { Result = _ => new(pending.Task) };
        var connection = Add(served, scripted);
        await client.SendAsync(Encoding.ASCII.GetBytes("x"));
        await scripted.NextAsync();

        connection.Abort(null);
        var buffer = new byte[16];
        Assert.Equal(0, await client.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10)));
        await OnLoopAsync();
        Assert.False(scripted.Closing.Task.IsCompleted);

        pending.SetResult(true);
        Assert.Null(await scripted.Closing.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(scripted.Batches.Reader.TryRead(out _));
        Assert.Empty(_failures);
    }

    // 50 clients at one request each keep loop 0's passes at about 50 requests: the connections a benchmark client
    // opens then still go to loop 0, not to an idle loop 1 (split over two loops, they cost a tenth more).
    [Theory]
    [InlineData(new double[] { 0, 0 }, 0)]
    [InlineData(new double[] { 50, 0 }, 0)]
    [InlineData(new double[] { 127, 0 }, 0)]
    [InlineData(new double[] { 800, 0 }, 1)]
    [InlineData(new double[] { 800, 200, 300 }, 1)]
    [InlineData(new double[] { 800, 400, 300 }, 2)]
    public void A_new_connection_goes_to_the_first_loop_that_is_not_busy_else_the_least_loaded(double[] loads, int expected)
    {
        Assert.Equal(expected, EventLoop.PlaceAmong(loads));
    }

    // Loop 1 gives its connections back once they and loop 0's would fill light passes together, or it hardly runs.
    [Theory]
    [InlineData(10, 0.9, 40, true)]
    [InlineData(45, 0.9, 5, true)]
    [InlineData(50, 0.9, 50, false)]
    [InlineData(50, 0.3, 50, true)]
    public void A_loop_gathers_into_loop_0_when_their_passes_together_stay_light(double load, double busy, double loadOf0, bool gathers)
    {
        Assert.Equal(gathers, EventLoop.GathersInto0(load, busy, loadOf0));
    }

    // The server's own client (RespListener.LoopClient): a batch of writes waits for the commit at the end of the
    // loop's pass, then its replies go; a failed commit closes the connection without them.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_write_is_answered_after_the_pass_commits_it_and_not_at_all_when_the_commit_fails(bool fails)
    {
        var (client, session) = await ConnectLoopClientAsync();
        var unsentAtCommit = new List<long>();
        _store.OnCommit = () =>
        {
            unsentAtCommit.Add(session().Output.UnflushedBytes);
            if (fails)
                throw new IOException("the disk failed");
        };

        await client.SendAsync(Encoding.ASCII.GetBytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"));
        var reply = await ReadToEndOrLineAsync(client);

        // The reply was written, not sent, when the loop committed.
        Assert.Equal([5], unsentAtCommit);
        Assert.Equal(fails ? "" : "+OK\r\n", reply);
        Assert.Equal("v", _store.TryGet("k"u8, out var value) ? Encoding.ASCII.GetString(value.Bytes) : null);
        Assert.Empty(_failures);
    }

    // A batch that only reads while the store holds writes not yet committed (another connection's, earlier in the
    // pass or on another loop) may have read one of them: its reply waits for the pass's commit too, as Redis sends
    // every reply of an iteration after its AOF write. With every write committed, it goes at once, without one.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_read_while_writes_are_uncommitted_is_answered_after_the_pass_commits_them(bool uncommitted)
    {
        _store.SetValue("k"u8, ValueKind.String, "v"u8.ToArray(), 1, 0);
        _store.Uncommitted = uncommitted;
        var (client, session) = await ConnectLoopClientAsync();
        var unsentAtCommit = new List<long>();
        _store.OnCommit = () => unsentAtCommit.Add(session().Output.UnflushedBytes);

        await client.SendAsync(Encoding.ASCII.GetBytes("*2\r\n$6\r\nEXISTS\r\n$1\r\nk\r\n"));
        var reply = await ReadToEndOrLineAsync(client);

        Assert.Equal(":1\r\n", reply);
        Assert.Equal(uncommitted ? [4] : [], unsentAtCommit);
        Assert.Empty(_failures);
    }

    // A client served through the server's own loop client (RespListener.LoopClient), and its session once the loop
    // has taken the connection.
    private async Task<(Socket Client, Func<ClientSession> Session)> ConnectLoopClientAsync()
    {
        var server = new ServerContext(new ServerOptions(), _store, TimeProvider.System, () => { });
        var (client, served) = await ConnectAsync();
        ClientSession? session = null;
        EventLoop.Add(_loops, served, SendOptions, () => 1 << 20, connection =>
            new RespListener.LoopClient(session = new ClientSession(server, connection.Output, "test", "test") { Connection = connection }));
        return (client, () => session!);
    }

    // What the socket delivers up to the first line's end, or up to the end of the stream.
    private static async Task<string> ReadToEndOrLineAsync(Socket socket)
    {
        var text = new StringBuilder();
        var buffer = new byte[64];
        while (!text.ToString().EndsWith("\r\n", StringComparison.Ordinal))
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10));
            if (n == 0)
                break;
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        return text.ToString();
    }

    // Completes once the loop has finished the pass it is in (it runs posted actions between passes).
    private Task OnLoopAsync()
    {
        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _loops[0].Post(ran.SetResult);
        return ran.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    // As the server's send pipes: a flush waits past 1 MB unsent, and continues on a pool thread.
    private static PipeOptions SendOptions { get; } = new(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.ThreadPool,
        pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, minimumSegmentSize: 16 * 1024, useSynchronizationContext: false);

    private LoopConnection Add(Socket served, ScriptedClient client, long inputLimit = 1 << 20) =>
        EventLoop.Add(_loops, served, SendOptions, () => inputLimit, _ => client);

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

    // One call of the client by its loop: what the input held, what the call was told, what the client's probe saw.
    private sealed record Batch(string Input, bool Received, bool Ended, int Seen, bool OnLoop);

    // A client that records each batch the loop hands it and answers as its script says: by default it consumes
    // everything and goes on.
    private sealed class ScriptedClient : ILoopClient
    {
        public Channel<Batch> Batches { get; } = Channel.CreateUnbounded<Batch>();

        public TaskCompletionSource<Exception?> Closing { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Func<Batch, int>? OnServe { get; init; }

        // How many bytes of the input a batch consumes (all of it when null).
        public Func<Batch, long>? Consume { get; init; }

        // What a batch returns (a completed true when null).
        public Func<Batch, ValueTask<bool>>? Result { get; init; }

        public ValueTask<bool> Serve(ref ReadOnlySequence<byte> input, bool received, bool ended)
        {
            var batch = new Batch(Encoding.ASCII.GetString(input), received, ended, 0, Thread.CurrentThread.Name?.Contains("loop", StringComparison.OrdinalIgnoreCase) == true);
            batch = batch with { Seen = OnServe?.Invoke(batch) ?? 0 };
            input = input.Slice(Consume?.Invoke(batch) ?? input.Length);
            Batches.Writer.TryWrite(batch);
            return Result?.Invoke(batch) ?? new(true);
        }

        // The connection's output, if the client completes it when it closes (as the server's clients do).
        public Func<PipeWriter>? Output { get; set; }

        public void Closed(Exception? error)
        {
            Output?.Invoke().Complete(error);
            Closing.TrySetResult(error);
        }

        public async Task<Batch> NextAsync() => await Batches.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
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
        // Runs in the loop's commit, before the store's.
        public Action? OnCommit { get; set; }

        public ValueTask CommitAsync() => inner.CommitAsync();

        // What HasUncommittedWrites says, when set; the inner store's otherwise.
        public bool? Uncommitted { get; set; }

        public bool HasUncommittedWrites => Uncommitted ?? inner.HasUncommittedWrites;

        public void Commit()
        {
            OnCommit?.Invoke();
            inner.Commit();
        }

        public void Dispose() => inner.Dispose();
    }
}

/// <summary>The event loop's tests on a loop that polls for 30 µs (the server's default) before it sleeps.</summary>
public sealed class BusyPollingEventLoopTests() : EventLoopTests(TimeSpan.FromMicroseconds(30));

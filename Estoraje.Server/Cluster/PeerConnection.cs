using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Threading.Channels;
using Estoraje.Resp;
using Pipelines.Sockets.Unofficial;

namespace Estoraje.Server.Cluster;

/// <summary>
/// A pipelined RESP connection to another node's peer port, speaking one protocol version (a forwarded
/// reply is relayed byte for byte, so it must already be in the client's protocol). Requests from many
/// client connections share it: they are queued in call order, written by one loop that flushes once per
/// burst, and each gets the reply at its position. Reconnects when a request comes after a failure.
/// </summary>
internal sealed class PeerConnection : IAsyncDisposable
{
    private static readonly TimeSpan s_handshakeTimeout = TimeSpan.FromSeconds(5);

    // Replies are read on the socket's completion thread, as client requests are (RespListener).
    private static readonly PipeOptions s_pipeOptions = new(readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline, pauseWriterThreshold: 0, minimumSegmentSize: 16 * 1024, useSynchronizationContext: false);

    private readonly EndPoint _endpoint;
    private readonly string _secret;
    private readonly int _protocol;
    private readonly Channel<(byte[] Request, TaskCompletionSource<byte[]> Reply)> _requests =
        Channel.CreateUnbounded<(byte[], TaskCompletionSource<byte[]>)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Queue<TaskCompletionSource<byte[]>> _pending = new();
    private readonly Task _writer;
    private SocketConnection? _pipe;
    private int _outstanding;
    private long _progressAt = Environment.TickCount64;

    public PeerConnection(EndPoint endpoint, string secret, int protocol)
    {
        _endpoint = endpoint;
        _secret = secret;
        _protocol = protocol;
        _writer = Task.Run(WriteRequestsAsync);
    }

    /// <summary>
    /// Queues one encoded request and returns its reply. Requests queued by one caller, one after the other,
    /// reach the peer in that order: the order of commands on one key is kept.
    /// </summary>
    public Task<byte[]> SendAsync(byte[] request, TimeSpan timeout)
    {
        // The waiting client connection continues on the reader loop's thread: no thread-pool hop per
        // forwarded reply. Its continuation only writes to its own output and goes on with its batch.
        var reply = new TaskCompletionSource<byte[]>();
        if (Interlocked.Increment(ref _outstanding) == 1)
            Volatile.Write(ref _progressAt, Environment.TickCount64);
        if (!_requests.Writer.TryWrite((request, reply)))
            Complete(reply, new ObjectDisposedException(nameof(PeerConnection)));
        return reply.Task.WaitAsync(timeout);
    }

    /// <summary>Requests queued or sent and not answered yet.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>
    /// Whether requests have been waiting longer than <paramref name="limit"/> without a single reply meanwhile: the
    /// peer is stuck (stopped, overloaded) rather than merely busy, which would go on answering.
    /// </summary>
    public bool IsStalled(TimeSpan limit) =>
        Outstanding > 0 && Environment.TickCount64 - Volatile.Read(ref _progressAt) > (long)limit.TotalMilliseconds;

    private void Complete(TaskCompletionSource<byte[]> reply, Exception failure)
    {
        if (reply.TrySetException(failure))
            Interlocked.Decrement(ref _outstanding);
    }

    public async ValueTask DisposeAsync()
    {
        _requests.Writer.TryComplete();
        await _writer;
    }

    private async Task WriteRequestsAsync()
    {
        var reader = _requests.Reader;
        while (await reader.WaitToReadAsync())
        {
            var pipe = _pipe;
            while (reader.TryRead(out var item))
            {
                if (pipe is not null && !ReferenceEquals(pipe, _pipe))
                {
                    // The reader loop saw the connection end: this loop owns the writer, so it completes it.
                    await pipe.Output.CompleteAsync();
                    pipe = null;
                }

                if (pipe is null)
                {
                    try
                    {
                        pipe = await ConnectAsync();
                    }
                    catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or TimeoutException or ConnectionResetException or ConnectionAbortedException)
                    {
                        Complete(item.Reply, new IOException($"Cannot reach peer {_endpoint}: {ex.Message}", ex));
                        continue;
                    }
                }

                lock (_pending)
                    _pending.Enqueue(item.Reply);
                pipe.Output.Write(item.Request);
            }

            if (pipe is not null)
            {
                try
                {
                    var flush = await pipe.Output.FlushAsync();
                    if (flush.IsCompleted)
                        Disconnected(pipe, null);
                }
                catch (Exception ex) when (ex is IOException or InvalidOperationException or ConnectionResetException or ConnectionAbortedException)
                {
                    Disconnected(pipe, ex);
                }
            }
        }

        if (_pipe is { } last)
        {
            await last.Output.CompleteAsync();
            await last.Input.CompleteAsync();
        }
    }

    private async Task<SocketConnection> ConnectAsync()
    {
        var pipe = await SocketConnection.ConnectAsync(_endpoint, s_pipeOptions).WaitAsync(s_handshakeTimeout);
        _pipe = pipe;
        _ = Task.Run(() => ReadRepliesAsync(pipe));

        var handshake = new List<Task<byte[]>> { Handshake(pipe, Encode("ESTORAJE.PEER", _secret)) };
        if (_protocol == 3)
            handshake.Add(Handshake(pipe, Encode("HELLO", "3")));
        await pipe.Output.FlushAsync();
        foreach (var reply in handshake)
        {
            var bytes = await reply.WaitAsync(s_handshakeTimeout);
            if (bytes[0] == (byte)'-')
            {
                Disconnected(pipe, null);
                await pipe.Output.CompleteAsync();
                throw new IOException($"Peer {_endpoint} refused the handshake: {System.Text.Encoding.UTF8.GetString(bytes).TrimEnd()}");
            }
        }

        return pipe;
    }

    private Task<byte[]> Handshake(SocketConnection pipe, byte[] request)
    {
        // Counted as outstanding like every request, so that its reply's completion balances the count.
        var reply = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Increment(ref _outstanding);
        lock (_pending)
            _pending.Enqueue(reply);
        pipe.Output.Write(request);
        return reply.Task;
    }

    private async Task ReadRepliesAsync(SocketConnection pipe)
    {
        Exception? failure = null;
        try
        {
            while (true)
            {
                var result = await pipe.Input.ReadAsync();
                var buffer = result.Buffer;
                while (true)
                {
                    var status = ReplyFramer.TryFrame(buffer, out var length);
                    if (status == ParseStatus.NeedMoreData)
                        break;
                    if (status == ParseStatus.Invalid)
                        throw new InvalidDataException($"Peer {_endpoint} sent a reply that is not RESP.");
                    var reply = buffer.Slice(0, length).ToArray();
                    buffer = buffer.Slice(length);
                    TaskCompletionSource<byte[]>? waiter;
                    lock (_pending)
                        _pending.TryDequeue(out waiter);
                    Volatile.Write(ref _progressAt, Environment.TickCount64);
                    if (waiter is not null && waiter.TrySetResult(reply))
                        Interlocked.Decrement(ref _outstanding);
                }

                pipe.Input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                    break;
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or ObjectDisposedException or InvalidOperationException or ConnectionResetException or ConnectionAbortedException)
        {
            failure = ex;
        }

        Disconnected(pipe, failure);
        await pipe.Input.CompleteAsync();
    }

    // The connection is gone: whoever waits for a reply on it gets an error; the next request reconnects.
    private void Disconnected(SocketConnection pipe, Exception? failure)
    {
        Interlocked.CompareExchange(ref _pipe, null, pipe);
        lock (_pending)
        {
            while (_pending.TryDequeue(out var waiter))
                Complete(waiter, new IOException($"Connection to peer {_endpoint} closed.", failure));
        }
    }

    /// <summary>Encodes a request as a RESP multibulk.</summary>
    public static byte[] Encode(params string[] arguments)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new RespWriter(buffer);
        writer.WriteArrayHeader(arguments.Length);
        foreach (var argument in arguments)
            writer.WriteBulkString(argument);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Encodes <paramref name="command"/> followed by binary <paramref name="arguments"/> (keys) as a RESP multibulk.</summary>
    public static byte[] Encode(string command, IReadOnlyList<byte[]> arguments)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new RespWriter(buffer);
        writer.WriteArrayHeader(arguments.Count + 1);
        writer.WriteBulkString(command);
        foreach (var argument in arguments)
            writer.WriteBulkString(argument);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Encodes a framed request back into a RESP multibulk, to forward it.</summary>
    public static byte[] Encode(RespRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new RespWriter(buffer);
        writer.WriteArrayHeader(request.Count);
        for (var i = 0; i < request.Count; i++)
            writer.WriteBulkString(request[i]);
        return buffer.WrittenSpan.ToArray();
    }
}

using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Estoraje.Resp;
using Pipelines.Sockets.Unofficial;

namespace Estoraje.Server.Cluster;

/// <summary>
/// A pipelined RESP connection to another node's peer port, speaking one protocol version (a forwarded
/// reply is relayed byte for byte, so it must already be in the client's protocol). Requests from many
/// client connections share it: each gets its reply in the order the requests were written.
/// Reconnects on the next request after a failure.
/// </summary>
internal sealed class PeerConnection : IAsyncDisposable
{
    private readonly EndPoint _endpoint;
    private readonly string _secret;
    private readonly int _protocol;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Queue<TaskCompletionSource<byte[]>> _pending = new();
    private SocketConnection? _pipe;
    private bool _disposed;

    public PeerConnection(EndPoint endpoint, string secret, int protocol)
    {
        _endpoint = endpoint;
        _secret = secret;
        _protocol = protocol;
    }

    /// <summary>Sends one encoded request and returns its complete reply.</summary>
    public async Task<byte[]> SendAsync(ReadOnlyMemory<byte> request, TimeSpan timeout)
    {
        Task<byte[]> reply;
        await _writeLock.WaitAsync();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var pipe = _pipe ?? await ConnectAsync();
            reply = Enqueue(pipe.Output, request.Span);
            await pipe.Output.FlushAsync();
        }
        finally
        {
            _writeLock.Release();
        }

        return await reply.WaitAsync(timeout);
    }

    public async ValueTask DisposeAsync()
    {
        await _writeLock.WaitAsync();
        try
        {
            _disposed = true;
            if (_pipe is not null)
            {
                await _pipe.Output.CompleteAsync();
                await _pipe.Input.CompleteAsync();
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    // Called under the write lock: the reply queue and the byte stream stay in the same order.
    private Task<byte[]> Enqueue(PipeWriter output, ReadOnlySpan<byte> request)
    {
        // Replies complete on the reader loop: continuations must not run there and stall other replies.
        var reply = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_pending)
            _pending.Enqueue(reply);
        output.Write(request);
        return reply.Task;
    }

    private async Task<SocketConnection> ConnectAsync()
    {
        var pipe = await SocketConnection.ConnectAsync(_endpoint);
        _ = Task.Run(() => ReadRepliesAsync(pipe));
        try
        {
            var handshake = new List<Task<byte[]>> { Enqueue(pipe.Output, Encode("ESTORAJE.PEER", _secret)) };
            if (_protocol == 3)
                handshake.Add(Enqueue(pipe.Output, Encode("HELLO", "3")));
            await pipe.Output.FlushAsync();
            foreach (var reply in handshake)
            {
                var bytes = await reply.WaitAsync(TimeSpan.FromSeconds(5));
                if (bytes[0] == (byte)'-')
                    throw new IOException($"Peer {_endpoint} refused the handshake: {System.Text.Encoding.UTF8.GetString(bytes).TrimEnd()}");
            }
        }
        catch
        {
            await pipe.Output.CompleteAsync();
            throw;
        }

        _pipe = pipe;
        return pipe;
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
                    waiter?.TrySetResult(reply);
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

        // The connection is gone: whoever waits gets an error (first, so that a handshake holding the write
        // lock is not left waiting), then the next request reconnects.
        FailPending(failure);
        await _writeLock.WaitAsync();
        try
        {
            if (ReferenceEquals(_pipe, pipe))
                _pipe = null;
            FailPending(failure);
        }
        finally
        {
            _writeLock.Release();
        }

        await pipe.Input.CompleteAsync();
        await pipe.Output.CompleteAsync();
    }

    private void FailPending(Exception? failure)
    {
        lock (_pending)
        {
            while (_pending.TryDequeue(out var waiter))
                waiter.TrySetException(failure ?? new IOException($"Connection to peer {_endpoint} closed."));
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

using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace Estoraje.Server.Network;

/// <summary>
/// A client socket served by an <see cref="EventLoop"/>, which reads it and runs its requests (through its
/// <see cref="ILoopClient"/>) on the loop's thread.
/// <para>
/// Input: the event loop reads the socket once each time epoll reports it readable (level-triggered), into the
/// connection's input buffer, and hands the client what the buffer holds at once: no pipe, task or continuation
/// between the <c>read</c> and the commands. A batch that must wait (for other nodes' replies, a commit, a full
/// socket) holds the next one until it completes; meanwhile the socket is still read, up to the input limit.
/// </para>
/// <para>
/// Output: the connection's flush sends what it wrote at once, on the flushing thread: one <c>send</c>, with no
/// task or continuation between the flush and the system call; only when the socket's buffer is full does the
/// rest wait for epoll to report it writable.
/// </para>
/// <para>
/// Owner: one loop at a time serves the connection. A loop may hand it to another between its passes
/// (<see cref="TryMoveTo"/>, when the loops rebalance); whatever must run on the owner's thread is posted to the
/// owner at the time it runs (<see cref="PostToOwner"/>).
/// </para>
/// </summary>
internal sealed class LoopConnection : IValueTaskSource
{
    // The input buffer starts at this size (and returns to the pool once the client consumed it all, so that an
    // idle connection holds none); it grows by doubling, up to the input limit, for requests that need more.
    private const int ReadSize = 16 * 1024;
    private const int PooledInputMax = 1024 * 1024;

    private volatile EventLoop _loop;
    private readonly Socket _socket;
    private readonly int _fd;
    private int _slot;
    private readonly Pipe _send;
    private readonly Lock _lock = new();
    private volatile bool _reading = true;
    private TaskCompletionSource? _writable;
    private uint _interest;
    private bool _closed;
    private ManualResetValueTaskSourceCore<bool> _commit;
    private volatile bool _awaitingCommit;

    // Input, on the owner's thread only: unconsumed bytes are _input[_start.._end].
    private readonly Func<long> _inputLimit;
    private ILoopClient? _client;
    private byte[]? _input;
    private int _start;
    private int _end;
    private bool _received; // bytes arrived since the client last ran
    private bool _woken;
    private bool _ended; // end of stream
    private bool _full; // not reading: the input limit is reached
    private bool _clientDone;
    private Exception? _closeError;
    private ValueTask<bool> _batch; // the client's pending batch while _serving
    private volatile bool _serving;
    private readonly Action _batchDone;
    private readonly Action _afterBatch;

    public LoopConnection(EventLoop loop, Socket socket, PipeOptions send, Func<long> inputLimit)
    {
        _loop = loop;
        _socket = socket;
        _fd = (int)socket.SafeHandle.DangerousGetHandle();
        _send = new Pipe(send);
        _inputLimit = inputLimit;
        Output = new Outbox(this, _send.Writer);
        _batchDone = BatchDone;
        _afterBatch = AfterBatch;
    }

    /// <summary>
    /// The epoll data of this connection: its slot in its loop and a generation, so that a stale event for a
    /// reused slot is ignored. Set by the loop that takes the connection.
    /// </summary>
    public ulong Token { get; private set; }

    /// <summary>Its slot in its loop's table.</summary>
    internal int Slot => _slot;

    /// <summary>The index of the loop serving the connection now (CLIENT LIST's <c>io-thread</c>).</summary>
    public int LoopIndex => _loop.Index;

    /// <summary>The connection's replies: a flush sends them.</summary>
    public PipeWriter Output { get; }

    /// <summary>Counts the requests of a batch toward its loop's load (see <see cref="EventLoop"/>).</summary>
    public void Served(long requests) => _loop.Served(requests);

    /// <summary>Completes when the batch's writes are as durable as the store promises (see <see cref="EventLoop"/>).</summary>
    public ValueTask CommitAsync() => _loop.CommitAsync(this);

    internal ValueTask WaitForCommit()
    {
        _commit.Reset();
        _awaitingCommit = true;
        return new ValueTask(this, _commit.Version);
    }

    internal void Committed(Exception? error)
    {
        _awaitingCommit = false;
        if (error is null)
            _commit.SetResult(true);
        else
            _commit.SetException(error);
    }

    void IValueTaskSource.GetResult(short token) => _commit.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _commit.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _commit.OnCompleted(continuation, state, token, flags);

    /// <summary>Starts reading for <paramref name="client"/> (any thread, once).</summary>
    internal void Start(ILoopClient client)
    {
        _client = client;
        lock (_lock)
            UpdateInterestLocked();
    }

    /// <summary>Marks a connection that could not start as closed: its socket is its taker's to dispose.</summary>
    internal void Discard()
    {
        lock (_lock)
            _closed = true;
        _clientDone = true;
    }

    /// <summary>
    /// Runs the client once more on the owner's thread even if nothing arrives (it has messages to write). Any thread.
    /// </summary>
    public void Wake() => PostToOwner(() =>
    {
        _woken = true;
        Serve();
    });

    /// <summary>Epoll reported the socket (loop thread).</summary>
    /// <param name="defer">
    /// Read, but leave the batch to <see cref="RunReceived"/> later in the pass (the loop first gathers what every
    /// ready connection will look up).
    /// </param>
    internal void OnEvents(uint events, bool defer)
    {
        if ((events & (Libc.EPOLLOUT | Libc.EPOLLERR | Libc.EPOLLHUP)) != 0)
        {
            TaskCompletionSource? writable;
            lock (_lock)
            {
                writable = _writable;
                _writable = null;
                if (writable is not null)
                    UpdateInterestLocked();
            }

            writable?.TrySetResult();
        }

        if ((events & (Libc.EPOLLIN | Libc.EPOLLRDHUP | Libc.EPOLLERR | Libc.EPOLLHUP)) != 0 && _reading && !_ended && !_closed)
            Receive(defer);
    }

    private unsafe void Receive(bool defer)
    {
        if (!MakeRoom())
        {
            // The client has not consumed the input limit's worth: read again once it has (Consumed).
            _full = true;
            SetReading(false);
            return;
        }

        long n;
        fixed (byte* p = &_input![_end])
            n = Libc.Read(_fd, p, _input.Length - _end);

        if (n > 0)
        {
            _end += (int)n;
            _received = true;
            if (defer)
                _loop.Received(this, _input.AsSpan(_start, _end - _start));
            else
                Serve();
            return;
        }

        if (n == -Libc.EAGAIN || n == -Libc.EINTR)
            return;
        if (n < 0)
        {
            Close(new IOException($"read failed: errno {-n}"));
            return;
        }

        // End of stream: the client runs what is complete, then the connection ends.
        _ended = true;
        _received = true;
        SetReading(false);
        if (defer)
            _loop.Received(this, default);
        else
            Serve();
    }

    // Room at the end of the input buffer for a read: moves the unconsumed bytes down or grows the buffer when little
    // is left. False when the unconsumed bytes fill the input limit.
    private bool MakeRoom()
    {
        if (_input is null)
        {
            _input = ArrayPool<byte>.Shared.Rent(ReadSize);
            return true;
        }

        if (_input.Length - _end >= ReadSize / 4)
            return true;
        var used = _end - _start;
        if (_start > 0 && used <= _input.Length / 2)
        {
            MoveDown();
            return true;
        }

        var limit = Math.Min(_inputLimit(), Array.MaxLength);
        if (_input.Length < limit)
        {
            var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(2L * _input.Length, limit));
            _input.AsSpan(_start, used).CopyTo(grown);
            ReturnInput();
            (_input, _start, _end) = (grown, 0, used);
            return true;
        }

        if (_start > 0)
            MoveDown();
        return _end < _input.Length;
    }

    private void MoveDown()
    {
        var used = _end - _start;
        _input.AsSpan(_start, used).CopyTo(_input);
        (_start, _end) = (0, used);
    }

    // Buffers past PooledInputMax (a large request's) go to the collector, not back to the pool to be kept there.
    private void ReturnInput()
    {
        if (_input is { Length: <= PooledInputMax })
            ArrayPool<byte>.Shared.Return(_input);
        (_input, _start, _end) = (null, 0, 0);
    }

    /// <summary>Runs the client on what was read, unless closed since (loop thread, in the pass that read it).</summary>
    internal void RunReceived() => Serve();

    // Hands the client what the buffer holds, unless a batch of it is still pending (it looks again when that ends).
    private void Serve()
    {
        if (_serving || _closed || _client is null || _clientDone || !(_received || _woken))
            return;
        var received = _received;
        (_received, _woken) = (false, false);
        var input = _input is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(_input, _start, _end - _start);
        var length = input.Length;
        var batch = _client.Serve(ref input, received, _ended);
        Consumed((int)(length - input.Length));
        if (!batch.IsCompleted)
        {
            _batch = batch;
            _serving = true;
            batch.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_batchDone);
            return;
        }

        if (!batch.Result || _ended)
            EndClient(null);
    }

    private void Consumed(int bytes)
    {
        _start += bytes;
        if (_start == _end && _input is not null)
            ReturnInput();
        if (_full && bytes > 0)
        {
            _full = false;
            SetReading(true);
        }
    }

    // The pending batch completed, on whatever thread completed it: the owner goes on with the connection. (A commit
    // of the owner's pass completes it on the owner's thread: then it goes on at once.)
    private void BatchDone()
    {
        var loop = _loop;
        if (loop.IsCurrent)
            AfterBatch();
        else
            PostToOwner(_afterBatch);
    }

    private void AfterBatch()
    {
        bool goOn;
        try
        {
            goOn = _batch.Result;
        }
        catch (Exception ex)
        {
            // A client reports its own failures; this one is a bug.
            goOn = false;
            _loop.Failed(this, ex);
        }

        _batch = default;
        _serving = false;
        try
        {
            if (_closed)
                EndClient(_closeError);
            else if (!goOn || (_ended && !_received))
                EndClient(null);
            else
                Serve();
        }
        catch (Exception ex)
        {
            // Not into the completer's frame (the loop's commit, a peer link's reader).
            _loop.Failed(this, ex);
        }
    }

    // The client is done (it ended, or the socket closed): it completes the output, whose end closes the socket.
    private void EndClient(Exception? error)
    {
        if (_clientDone || _serving)
            return;
        _clientDone = true;
        ReturnInput();
        _client?.Closed(error);
    }

    private void SetReading(bool reading)
    {
        lock (_lock)
        {
            _reading = reading;
            UpdateInterestLocked();
        }
    }

    // The send side. Whoever flushes the connection's output sends what it wrote there and then (SendNow); only when
    // the socket takes part of it does the rest wait for epoll to report the socket writable (SendWhenWritable). One
    // sender at a time owns the send pipe's reader (_sender); a flush that finds it owned leaves its bytes to the
    // owner, which looks again before it lets go if anything was flushed meanwhile (_sendRequests).
    private int _sender;
    private int _sendRequests;

    private enum SendOutcome
    {
        AllSent,
        Blocked,
        Ended,
    }

    // Any thread: after a flush or the completion of the output.
    private void SendNow()
    {
        Interlocked.Increment(ref _sendRequests);
        while (Interlocked.CompareExchange(ref _sender, 1, 0) == 0)
        {
            var requests = Volatile.Read(ref _sendRequests);
            switch (SendWritten())
            {
                case SendOutcome.Blocked:
                    _ = SendWhenWritable();
                    return;
                case SendOutcome.Ended:
                    return; // The reader stays owned: nothing is sent any more.
            }

            Volatile.Write(ref _sender, 0);
            if (Volatile.Read(ref _sendRequests) == requests)
                return;
        }
    }

    // The owner: sends what was flushed until the socket is full or the output ends.
    private SendOutcome SendWritten()
    {
        var reader = _send.Reader;
        try
        {
            while (reader.TryRead(out var result))
            {
                var buffer = result.Buffer;
                var sent = buffer.IsEmpty ? 0 : Send(buffer);
                if (sent < buffer.Length)
                {
                    // Examined no further than sent: the next TryRead returns the rest at once.
                    reader.AdvanceTo(buffer.GetPosition(sent));
                    return SendOutcome.Blocked;
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    EndSending(null);
                    return SendOutcome.Ended;
                }
            }

            return SendOutcome.AllSent;
        }
        catch (Exception ex)
        {
            EndSending(ex);
            return SendOutcome.Ended;
        }
    }

    // The owner, once the socket's buffer is full: sends the rest as the socket takes it, then lets go.
    private async Task SendWhenWritable()
    {
        var outcome = SendOutcome.Blocked;
        while (outcome == SendOutcome.Blocked)
        {
            try
            {
                await WhenWritable().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                EndSending(ex);
                return;
            }

            outcome = SendWritten();
        }

        if (outcome == SendOutcome.AllSent)
        {
            Volatile.Write(ref _sender, 0);
            SendNow();
        }
    }

    // The output ended (the connection completed it) or a send failed: the connection closes once that is known.
    private void EndSending(Exception? error)
    {
        _send.Reader.Complete(error);
        PostToOwner(() => Close(error));
    }

    // The connection's output: the send pipe's writer, whose flush sends at once on the flushing thread.
    private sealed class Outbox(LoopConnection connection, PipeWriter pipe) : PipeWriter
    {
        public override bool CanGetUnflushedBytes => pipe.CanGetUnflushedBytes;

        public override long UnflushedBytes => pipe.UnflushedBytes;

        public override void Advance(int bytes) => pipe.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => pipe.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => pipe.GetSpan(sizeHint);

        public override void CancelPendingFlush() => pipe.CancelPendingFlush();

        // Past the pipe's pause threshold the flush stays pending until enough of it is sent.
        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            var flush = pipe.FlushAsync(cancellationToken);
            connection.SendNow();
            return flush;
        }

        public override void Complete(Exception? exception = null)
        {
            pipe.Complete(exception);
            connection.SendNow();
        }
    }

    // Sends what the socket takes now; returns the bytes sent. Any thread: the reference held on the socket's
    // handle keeps its descriptor from being closed (and reused) by a Close on the loop's thread meanwhile.
    private long Send(in ReadOnlySequence<byte> buffer)
    {
        var handle = _socket.SafeHandle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return SendHeld(buffer);
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    private long SendHeld(in ReadOnlySequence<byte> buffer) =>
        buffer.IsSingleSegment ? SendSpan(buffer.FirstSpan) : SendSegments(buffer);

    private unsafe long SendSpan(ReadOnlySpan<byte> span)
    {
        long total = 0;
        while (!span.IsEmpty)
        {
            long n;
            fixed (byte* p = span)
                n = Libc.Send(_fd, p, span.Length);
            if (n > 0)
            {
                total += n;
                span = span[(int)n..];
                continue;
            }

            if (n == -Libc.EINTR)
                continue;
            if (n == -Libc.EAGAIN)
                return total;
            throw new IOException($"send failed: errno {-n}");
        }

        return total;
    }

    // Replies that span several of the pipe's segments (16 GETs of 1 KB values fill more than one) leave in one
    // sendmsg, as Redis's writev, rather than a send per segment.
    private const int MaxVectors = 16;

    private MemoryHandle[]? _pins; // the sender's, one send at a time

    private unsafe long SendSegments(in ReadOnlySequence<byte> buffer)
    {
        var vectors = stackalloc Libc.IoVector[MaxVectors];
        var pins = _pins ??= new MemoryHandle[MaxVectors];
        long total = 0;
        var rest = buffer;
        while (!rest.IsEmpty)
        {
            var count = 0;
            long length = 0;
            try
            {
                foreach (var segment in rest)
                {
                    if (segment.IsEmpty)
                        continue;
                    pins[count] = segment.Pin();
                    vectors[count] = new Libc.IoVector { Base = pins[count].Pointer, Length = (nuint)segment.Length };
                    length += segment.Length;
                    if (++count == MaxVectors)
                        break;
                }

                if (count == 0)
                    return total;
                long n;
                do
                    n = Libc.SendGathered(_fd, vectors, count);
                while (n == -Libc.EINTR);
                if (n == -Libc.EAGAIN)
                    return total;
                if (n < 0)
                    throw new IOException($"send failed: errno {-n}");
                total += n;
                if (n < length)
                    return total;
                rest = rest.Slice(n);
            }
            finally
            {
                for (var i = 0; i < count; i++)
                    pins[i].Dispose();
            }
        }

        return total;
    }

    private Task WhenWritable()
    {
        var writable = new TaskCompletionSource();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            _writable = writable;
            UpdateInterestLocked();
        }

        return writable.Task;
    }

    /// <summary>
    /// Closes the socket at once, dropping replies not yet sent (a killed or failed connection); a connection
    /// that ends normally is closed once its last replies are sent. Any thread.
    /// </summary>
    public void Abort(Exception? error) => PostToOwner(() => Close(error));

    // Runs an action of the owner's thread there: if the connection moved on before it ran, it follows. (The owner
    // read on its own thread cannot change meanwhile: only the owner hands the connection on.)
    private void PostToOwner(Action action)
    {
        var loop = _loop;
        loop.Post(() =>
        {
            if (_loop == loop)
                action();
            else
                PostToOwner(action);
        });
    }

    /// <summary>Its loop took the connection: the slot it holds there and the epoll data of that slot.</summary>
    internal void Assign(int slot, ulong token)
    {
        _slot = slot;
        Token = token;
    }

    /// <summary>
    /// Hands the connection to <paramref name="target"/> if it is idle between requests: reading, not waiting for
    /// a commit or for the socket to take a send, not closing. Owner's thread, between passes; the socket leaves
    /// this loop's epoll set before it joins the target's, so from then on only the target serves it.
    /// </summary>
    internal bool TryMoveTo(EventLoop target)
    {
        lock (_lock)
        {
            if (_closed || _serving || _awaitingCommit || _writable is not null || !_reading || _ended || _interest == 0)
                return false;
            var source = _loop;
            var (oldSlot, oldToken) = (_slot, Token);
            if (Libc.EpollControl(source.Epoll, Libc.EPOLL_CTL_DEL, _fd, 0, 0) != 0)
                return false;
            target.Adopt(this);
            _loop = target;
            var error = Libc.EpollControl(target.Epoll, Libc.EPOLL_CTL_ADD, _fd, _interest, Token);
            if (error != 0)
            {
                target.Release(_slot);
                _loop = source;
                Assign(oldSlot, oldToken);
                if (Libc.EpollControl(source.Epoll, Libc.EPOLL_CTL_ADD, _fd, _interest, Token) != 0)
                    throw new IOException($"epoll_ctl failed: errno {error}");
                return false;
            }

            source.Release(oldSlot);
            return true;
        }
    }

    // Loop thread.
    internal void Close(Exception? error)
    {
        TaskCompletionSource? writable;
        lock (_lock)
        {
            if (_closed)
                return;
            _closed = true;
            if (_interest != 0)
                Libc.EpollControl(_loop.Epoll, Libc.EPOLL_CTL_DEL, _fd, 0, 0);
            _interest = 0;
            writable = _writable;
            _writable = null;
        }

        writable?.TrySetException(new ObjectDisposedException(nameof(LoopConnection)));
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already reset by the client.
        }

        _socket.Dispose();
        _loop.Release(_slot);

        // A pending batch ends first (its flush or commit fails or completes); then the client ends (AfterBatch).
        _closeError = error;
        EndClient(error);
    }

    // Interest follows state: readable while reading, writable while a send waits; out of the set when neither,
    // so that a hung-up socket does not keep reporting itself.
    private void UpdateInterestLocked()
    {
        if (_closed)
            return;
        var wanted = (_reading && !_ended && _client is not null ? Libc.EPOLLIN | Libc.EPOLLRDHUP : 0) | (_writable is not null ? Libc.EPOLLOUT : 0);
        if (wanted == _interest)
            return;
        var operation = _interest == 0 ? Libc.EPOLL_CTL_ADD : wanted == 0 ? Libc.EPOLL_CTL_DEL : Libc.EPOLL_CTL_MOD;
        var error = Libc.EpollControl(_loop.Epoll, operation, _fd, wanted, Token);
        if (error != 0)
            throw new IOException($"epoll_ctl failed: errno {error}");
        _interest = wanted;
    }
}

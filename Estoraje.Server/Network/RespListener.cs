using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Estoraje.Resp;
using Estoraje.Server.Cluster;
using Estoraje.Server.Commands;
using Estoraje.Server.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipelines.Sockets.Unofficial;

namespace Estoraje.Server.Network;

/// <summary>
/// Accepts client connections and runs one loop per connection: await a read, frame and execute every
/// complete request synchronously, flush the replies once per batch. Pipelined requests therefore cost
/// one read and one write system call per batch. The sockets are served by <see cref="EventLoop"/>s (or, with
/// <c>--event-loops 0</c> and off Linux, by the .NET socket engine through Pipelines.Sockets.Unofficial); either
/// way a connection sees a duplex pipe.
/// </summary>
internal sealed partial class RespListener : BackgroundService
{
    private static readonly CommandHandler s_forwardedExec = TransactionForwarding.Exec;

    private readonly ServerContext _server;
    private readonly ILogger<RespListener> _logger;
    private readonly Func<long> _inputLimit;
    private readonly List<Server> _listeners = [];
    private readonly List<Socket> _sockets = [];
    private EventLoop[] _loops = [];

    public RespListener(ServerContext server, ILogger<RespListener> logger)
    {
        _server = server;
        _logger = logger;
        _inputLimit = InputLimit;
    }

    // Unconsumed input past which a connection's socket is not read: the query buffer limit and room for the rest.
    private long InputLimit() => _server.Options.ClientQueryBufferLimit + 1024 * 1024;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A connection's socket is not read past the query buffer limit of unconsumed input (an event loop's input
        // limit, the socket engine's receive pipe's pause threshold): a request must be able to arrive whole before
        // it is consumed (a lower bound would deadlock on a large request), and a client that sends without reading
        // its replies is held to the same bound as in Redis. The loops read the limit as it is now (CONFIG SET);
        // the socket engine's pipes keep the one they started with.
        var inputLimit = InputLimit();
        var receive = new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: inputLimit, resumeWriterThreshold: inputLimit / 2, minimumSegmentSize: 16 * 1024,
            useSynchronizationContext: false);
        var send = new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.ThreadPool,
            pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, minimumSegmentSize: 16 * 1024,
            useSynchronizationContext: false);

        if (_server.Options.EventLoops > 0 && EventLoop.Supported)
        {
            _loops = EventLoop.CreateGroup(_server.Options.EventLoops, _server.Store, ex => LogLoopFailure(ex),
                TimeSpan.FromMicroseconds(_server.Options.BusyPoll));
        }

        foreach (var address in _server.Options.Bind.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            Listen(new IPEndPoint(IPAddress.Parse(address), _server.Options.Port), peerPort: false, send, receive);
            if (_server.Options.Clustered)
                Listen(new IPEndPoint(IPAddress.Parse(address), _server.Options.EffectivePeerPort), peerPort: true, send, receive);
        }

        // As Redis, "ready" once the dataset is loaded too (clients connected before get -LOADING meanwhile).
        _ = _server.Loaded.ContinueWith(_ => LogReady(_server.Options.Port), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return Task.CompletedTask;
    }

    private void Listen(IPEndPoint endpoint, bool peerPort, PipeOptions send, PipeOptions receive)
    {
        if (_loops.Length > 0)
        {
            var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(endpoint);
            socket.Listen(511);
            _sockets.Add(socket);
            _ = AcceptAsync(socket, peerPort, send, receive);
        }
        else
        {
            var listener = new Server(this, peerPort);
            listener.Listen(endpoint, endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp, 511, send, receive);
            _listeners.Add(listener);
        }

        LogListening(endpoint, peerPort ? "peers" : "clients");
    }

    // Accepted connections go to the least loaded event loop (see EventLoop).
    private async Task AcceptAsync(Socket listener, bool peerPort, PipeOptions send, PipeOptions receive)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.OperationAborted)
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                // The client went away between the handshake and the accept.
                continue;
            }
            catch (SocketException ex)
            {
                // Out of file descriptors or memory: say so, and give the others a moment to close before trying again.
                LogAcceptFailure(ex);
                await Task.Delay(100).ConfigureAwait(false);
                continue;
            }

            try
            {
                var remote = socket.RemoteEndPoint;
                EventLoop.Add(_loops, socket, send, _inputLimit, connection => OpenLoopClient(connection, remote, peerPort));
            }
            catch (SocketException)
            {
                // Reset before it could be served.
                socket.Dispose();
            }
            catch (IOException ex)
            {
                // epoll refused it (out of memory): this connection only.
                LogAcceptFailure(ex);
                socket.Dispose();
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        LogStopping(_server.Clients.Count);
        foreach (var listener in _listeners)
            listener.Stop();
        foreach (var socket in _sockets)
            socket.Dispose();
        foreach (var client in _server.Clients.Values)
            client.Kill();
        await base.StopAsync(cancellationToken);
        foreach (var listener in _listeners)
            listener.Dispose();
        await _server.Router.DisposeAsync();
        foreach (var loop in _loops)
            loop.Dispose();
    }

    // A connection of the .NET socket engine (--event-loops 0): a loop that awaits a read, runs the batch, awaits
    // the batch's end.
    private async Task RunClientAsync(IDuplexPipe transport, EndPoint? remote, bool peerPort)
    {
        var input = transport.Input;
        var output = transport.Output;
        var session = Open(output, null, input, remote, peerPort);
        if (session is null)
        {
            await output.FlushAsync();
            await input.CompleteAsync();
            await output.CompleteAsync();
            return;
        }

        Exception? fault = null;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(session.Killed);
                var buffer = result.Buffer;
                // A read cancelled by a publisher (Subscriber.Deliver) carries no request, only messages to write.
                RunBatch(session, ref buffer, received: !result.IsCanceled);
                input.AdvanceTo(buffer.Start, buffer.End);
                if (!await EndBatchAsync(session, result.IsCompleted))
                    break;
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            fault = Fault(session, ex);
        }
        finally
        {
            Release(session, fault);
            await input.CompleteAsync(fault);
        }
    }

    // A connection served by an event loop: the loop runs its batches as they arrive (LoopClient).
    private LoopClient? OpenLoopClient(LoopConnection connection, EndPoint? remote, bool peerPort)
    {
        var session = Open(connection.Output, connection, null, remote, peerPort);
        if (session is null)
        {
            connection.Output.Complete();
            return null;
        }

        // CLIENT KILL, an output limit, shutdown: the connection closes at once, dropping replies not yet sent.
        session.Killed.UnsafeRegister(static state => ((LoopConnection)state!).Abort(null), connection);
        return new LoopClient(session);
    }

    // A new connection's session, or none when the server is full (then the refusal is written, not flushed).
    private ClientSession? Open(PipeWriter output, LoopConnection? connection, PipeReader? input, EndPoint? remote, bool peerPort)
    {
        var server = _server;
        Interlocked.Increment(ref server.Stats.ConnectionsReceived);
        if (server.Clients.Count >= server.Options.MaxClients)
        {
            Interlocked.Increment(ref server.Stats.RejectedConnections);
            new RespWriter(output).WriteError("ERR max number of clients reached");
            return null;
        }

        var port = peerPort ? server.Options.EffectivePeerPort : server.Options.Port;
        var local = $"{server.Options.Bind.Split(' ')[0]}:{port}";
        var session = new ClientSession(server, output, remote?.ToString() ?? "?", local, peerPort, input) { Connection = connection };
        server.Clients[session.Id] = session;
        return session;
    }

    // The synchronous half of a batch: runs the complete requests of the buffer and advances it past them. Commands
    // for other nodes are sent as they come (pipelined); their replies, with every reply after them, are written in
    // request order by EndBatchAsync.
    private static void RunBatch(ClientSession session, ref ReadOnlySequence<byte> buffer, bool received)
    {
        var before = buffer.Length;
        session.PubSub?.ClearWake();
        if (received)
            session.LastInteraction = Environment.TickCount64;
        var commands = session.Counters.Commands;
        ProcessBatch(session, ref buffer);
        var ran = session.Counters.Commands - commands;
        session.Connection?.Served(ran);
        // A batch of reads may have read a write that another batch made and that is not committed yet (earlier in the
        // same pass, or on another loop): its replies wait for a commit too, so that no client sees a write a crash
        // could still take back. Redis sends every reply of an event-loop iteration after that iteration's AOF write
        // (and fsync, under always).
        if (ran > 0 && !session.PendingCommit && session.Store.HasUncommittedWrites)
            session.PendingCommit = true;
        session.WaitChain = null;
        session.Counters.NetInputBytes += before - buffer.Length;
    }

    // The end of a batch: deferred replies, the commit its writes wait for, waiting messages, the flush. Returns
    // whether the connection goes on. Completes at once for a batch of reads whose replies the socket took.
    private static ValueTask<bool> EndBatchAsync(ClientSession session, bool ended)
    {
        if (session.Deferring || session.PendingCommit || session.PubSub is not null)
            return EndWaitingBatchAsync(session, ended);
        var output = session.Output;
        CountOutput(session, output);
        var flush = output.FlushAsync(session.Killed);
        if (!flush.IsCompletedSuccessfully)
            return AfterFlushAsync(session, flush, ended);
        return new(GoesOn(session, flush.Result, ended));
    }

    private static bool GoesOn(ClientSession session, FlushResult flush, bool ended) =>
        !(session.CloseAfterReply || ended || flush.IsCompleted);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<bool> AfterFlushAsync(ClientSession session, ValueTask<FlushResult> flush, bool ended) =>
        GoesOn(session, await flush, ended);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<bool> EndWaitingBatchAsync(ClientSession session, bool ended)
    {
        if (session.Deferring)
        {
            session.StopDeferring();
            while (session.Deferred.TryDequeue(out var reply))
                session.Writer.WriteRaw(await reply);
        }

        // Replies to writes leave only once those writes are as durable as appendfsync promises. The batch ran
        // synchronously; its replies sit unflushed in the pipe while this one await covers every write of the batch.
        // On an event loop the commit comes at the end of the loop's pass, once for every batch of the pass (under
        // appendfsync always, one fsync for them all); otherwise the store's syncer groups the waiting connections.
        if (session.PendingCommit)
        {
            session.PendingCommit = false;
            await (session.Connection is { } connection ? connection.CommitAsync() : session.Store.CommitAsync());
        }

        // Messages published to this connection follow its replies, flushed a few hundred KB at a time: while
        // the client does not read, they wait in its outbox, where its output limit applies.
        var output = session.Output;
        if (session.PubSub is { } subscriber)
        {
            while (subscriber.Drain(session.Writer, 256 * 1024))
            {
                CountOutput(session, output);
                if ((await output.FlushAsync(session.Killed)).IsCompleted)
                    return false;
            }
        }

        CountOutput(session, output);
        return GoesOn(session, await output.FlushAsync(session.Killed), ended);
    }

    // Why a connection ended, from what its batch threw: nothing for a kill, the error for a failed socket, and the
    // error reported for anything else (a bug: it closes this connection only).
    private static Exception? Fault(ClientSession session, Exception ex)
    {
        if (ex is OperationCanceledException)
            return null;
        if (ex is not (IOException or SocketException or ConnectionResetException or ObjectDisposedException))
            session.Server.ReportConnectionFailure(session.Id, ex);
        return ex;
    }

    // The connection ended: its session goes, and its output completes (a killed or failed connection closes
    // without the replies it still has queued).
    private static void Release(ClientSession session, Exception? fault)
    {
        var server = session.Server;
        if (session.Connection is { } connection && (fault is not null || session.Killed.IsCancellationRequested))
            connection.Abort(fault);
        if (session.PubSub is { } subscriber)
            server.PubSub.RemoveAll(subscriber);
        server.Clients.TryRemove(session.Id, out _);
        server.Retire(session.Counters);
        session.Dispose();
        session.Output.Complete(fault);
    }

    // An event loop's connection, run by its loop (see ILoopClient): each batch runs on the loop's thread as soon
    // as its bytes are read, and only a batch that must wait leaves it. A batch of writes waits for its loop's commit
    // at the end of the pass: that wait, the common one, is this object itself (one batch pends at a time), and the
    // commit's completion ends the batch, with no task or state machine; a pass commits for dozens of connections at
    // once, more than the pooled state machines keep. Other waits go through EndWaitingBatchAsync.
    internal sealed class LoopClient : ILoopClient, IValueTaskSource<bool>
    {
        private readonly ClientSession _session;
        private readonly Action _committed;
        private ManualResetValueTaskSourceCore<bool> _end;
        private ValueTask _commit;
        private bool _ended;
        private Exception? _fault;

        public LoopClient(ClientSession session)
        {
            _session = session;
            _committed = Committed;
        }

        public ValueTask<bool> Serve(ref ReadOnlySequence<byte> input, bool received, bool ended)
        {
            try
            {
                RunBatch(_session, ref input, received);
                if (_session.PendingCommit && !_session.Deferring && _session.PubSub is null && _session.Connection is { } connection)
                {
                    _session.PendingCommit = false;
                    var commit = connection.CommitAsync();
                    if (!commit.IsCompleted)
                    {
                        (_commit, _ended) = (commit, ended);
                        _end.Reset();
                        commit.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_committed);
                        return new ValueTask<bool>(this, _end.Version);
                    }

                    commit.GetAwaiter().GetResult();
                }

                var end = EndBatchAsync(_session, ended);
                return end.IsCompletedSuccessfully ? end : Guarded(end);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _fault = Fault(_session, ex);
                return new(false);
            }
        }

        // The batch's commit completed (on the loop's thread, at the end of its pass): its replies go.
        private void Committed()
        {
            ValueTask<bool> end;
            try
            {
                var commit = _commit;
                _commit = default;
                commit.GetAwaiter().GetResult();
                end = EndBatchAsync(_session, _ended);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _fault = Fault(_session, ex);
                _end.SetResult(false);
                return;
            }

            if (end.IsCompletedSuccessfully)
                _end.SetResult(end.Result);
            else
                _ = EndLaterAsync(end);
        }

        // The socket was full: the batch ends once it takes the replies.
        private async Task EndLaterAsync(ValueTask<bool> end) => _end.SetResult(await Guarded(end).ConfigureAwait(false));

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<bool> Guarded(ValueTask<bool> end)
        {
            try
            {
                return await end.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _fault = Fault(_session, ex);
                return false;
            }
        }

        public void Closed(Exception? error) => Release(_session, _fault ?? error);

        bool IValueTaskSource<bool>.GetResult(short token) => _end.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _end.GetStatus(token);

        void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _end.OnCompleted(continuation, state, token, flags);
    }

    private static void CountOutput(ClientSession session, PipeWriter output)
    {
        if (output.CanGetUnflushedBytes)
            session.Counters.NetOutputBytes += output.UnflushedBytes;
    }

    // Runs the complete requests of the buffer; those for other nodes are sent and their replies deferred.
    private const int PrefetchDepth = 16;

    // Pipelined requests: tells the store which keys the next PrefetchDepth requests will look up, so that it loads
    // them all at once (IKeyValueStore.Prefetch). The first argument of every request that has one: most commands'
    // first key, and a hint wasted on the others (CONFIG GET's parameter, PUBLISH's channel) costs less than looking
    // every command up twice. Returns how many requests that looked at, at least one: the next look is after them.
    private static int Prefetch(ClientSession session, in ReadOnlySequence<byte> buffer)
    {
        if (!buffer.IsSingleSegment)
            return PrefetchDepth;
        var data = buffer.FirstSpan;
        Span<Range> names = stackalloc Range[PrefetchDepth];
        Span<Range> firsts = stackalloc Range[PrefetchDepth];
        var count = RequestScanner.Scan(data, names, firsts);
        if (count < 2)
            return 1;
        var keys = 0;
        for (var i = 0; i < count; i++)
        {
            if (firsts[i].End.Value > firsts[i].Start.Value)
                firsts[keys++] = firsts[i];
        }

        if (keys > 1)
            session.Store.Prefetch(data, firsts[..keys]);
        return count;
    }

    private static void ProcessBatch(ClientSession session, ref ReadOnlySequence<byte> buffer)
    {
        var parser = session.Parser;
        var table = session.Server.Commands;
        var router = session.Server.Router;
        var prefetched = 0;
        while (!session.CloseAfterReply)
        {
            if (prefetched == 0)
                prefetched = Prefetch(session, buffer);
            var status = parser.TryParse(ref buffer, out var request);
            if (status == ParseStatus.Done)
            {
                prefetched--;
                // Messages published before this command ran reach the client before its reply.
                if (session.PubSub is { HasPending: true } subscriber)
                    subscriber.Drain(session.Writer);
                var command = table.Resolve(session, request);
                if (command is null)
                {
                    // Refused (unknown, wrong arity…): inside MULTI, EXEC then fails with EXECABORT.
                    session.Transaction.Flag();
                    continue;
                }

                if (session.Transaction.Active && TransactionCommands.IsQueued(command))
                {
                    TransactionCommands.Queue(session, command, request);
                    continue;
                }

                // MULTI, EXEC, DISCARD, WATCH, UNWATCH run here: EXEC and WATCH find the nodes leading their keys.
                if (command.Group == TransactionCommands.Group)
                {
                    CommandTable.Execute(session, command, request);
                    continue;
                }

                if (!session.IsPeer)
                {
                    var route = router.Route(command, request, out var target, out var slot);

                    // A node whose etcd lease may have lapsed could already be out of the others' rings: a write
                    // it took would be invisible to them. It refuses writes it would run itself until it is
                    // registered again (a node that left forwards them to the nodes that hold their slots).
                    if ((command.Flags & CommandFlags.Write) != 0 && route != RouteKind.Forward && !router.Membership.IsRegistered)
                    {
                        session.Writer.WriteError(Router.NotRegisteredError);
                        continue;
                    }

                    if (route == RouteKind.Wait || (session.WaitChain is not null && route is RouteKind.Local or RouteKind.Forward && slot >= 0))
                    {
                        ForwardWhenOpen(session, command, request, slot);
                        continue;
                    }

                    if (route == RouteKind.Forward)
                    {
                        session.LastCommand = command.FullName;
                        // The primary acknowledges only once its quorum holds the write: at least W−1 replicas.
                        if (Replication.Replicates(command) && Replication.Applies(router.Membership.Current))
                            session.LastWrite = WriteAcks.AtLeast(Replication.Quorum(session.Server.Options) - 1);
                        session.Defer(router.ForwardOrTryAgainAsync(target!, Cluster.PeerConnection.Encode(request), session.Writer.Protocol));
                        continue;
                    }

                    if (route == RouteKind.FanOut)
                    {
                        session.LastCommand = command.FullName;
                        var arguments = new byte[request.Count][];
                        for (var i = 0; i < request.Count; i++)
                            arguments[i] = request.ToArray(i);
                        session.Defer(FanOut.ExecuteAsync(session, command, arguments));
                        continue;
                    }

                    if (route == RouteKind.CrossSlot)
                    {
                        session.Writer.WriteError(Router.CrossSlotError);
                        continue;
                    }
                }

                // A command forwarded by a node that sees this one as the primary of a slot it is still pulling.
                else if (router.Gate.ClosedCount > 0 || session.WaitChain is not null)
                {
                    var first = command.FirstKeyPosition(request);
                    var slot = first > 0 ? Ring.KeySlot.Of(request[first])
                        : command.Handler == s_forwardedExec ? TransactionForwarding.SlotOf(request) : -1;
                    if (slot >= 0 && (session.WaitChain is not null || router.Gate.IsClosed(slot)))
                    {
                        ForwardWhenOpen(session, command, request, slot);
                        continue;
                    }
                }

                // A write on a ring that keeps several copies: its reply waits for the replicas' acknowledgements.
                var view = router.Membership.Current;
                if (Replication.Replicates(command) && Replication.Applies(view))
                {
                    session.LastCommand = command.FullName;
                    session.Defer(Replication.ExecuteAsync(session, command, request, view));
                    continue;
                }

                CommandTable.Execute(session, command, request);
                continue;
            }

            if (status == ParseStatus.Invalid)
            {
                Interlocked.Increment(ref session.Server.Stats.ProtocolErrors);
                if (parser.Error is not null)
                    session.Writer.WriteError("ERR " + parser.Error);
                session.CloseAfterReply = true;
                // Whatever follows the bad frame is never read.
                buffer = buffer.Slice(buffer.End);
            }

            return;
        }
    }

    // A command on a slot this node is still pulling runs once the slot opens; every later command of the batch
    // with a key follows the same path, so that the batch's commands still run in the order they were sent (also
    // behind a transaction waiting for the stamps of its watched keys, see TransactionForwarding).
    private static void ForwardWhenOpen(ClientSession session, CommandDefinition command, RespRequest request, int slot)
    {
        var router = session.Server.Router;
        session.LastCommand = command.FullName;
        if (Replication.Replicates(command) && Replication.Applies(router.Membership.Current))
            session.LastWrite = WriteAcks.AtLeast(Replication.Quorum(session.Server.Options) - 1);
        var sent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        session.Defer(router.ForwardWhenOpenAsync(slot, Cluster.PeerConnection.Encode(request), session.Writer.Protocol,
            session.WaitChain ?? Task.CompletedTask, sent));
        session.WaitChain = sent.Task;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening on {Endpoint} for {Who}")]
    private partial void LogListening(EndPoint endpoint, string who);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not take a client connection")]
    private partial void LogAcceptFailure(Exception ex);

    [LoggerMessage(Level = LogLevel.Error, Message = "Event loop failure")]
    private partial void LogLoopFailure(Exception ex);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: closing {Clients} client connections")]
    private partial void LogStopping(int clients);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ready to accept connections on port {Port}")]
    private partial void LogReady(int port);

    private sealed class Server(RespListener owner, bool peerPort) : SocketServer
    {
        protected override Task OnClientConnectedAsync(in ClientConnection client) =>
            owner.RunClientAsync(client.Transport, client.RemoteEndPoint, peerPort);
    }
}

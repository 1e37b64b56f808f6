using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Estoraje.Resp;
using Estoraje.Server.Messaging;
using Estoraje.Storage;

namespace Estoraje.Server.Network;

/// <summary>State of one client connection, as CLIENT LIST shows it.</summary>
internal sealed class ClientSession : IDisposable
{
    private readonly CancellationTokenSource _kill = new();
    private System.Buffers.IBufferWriter<byte>? _direct;
    private ArrayBufferWriter<byte>? _capture;
    private readonly PipeReader? _input;

    public ClientSession(ServerContext server, PipeWriter output, string address, string localAddress, bool onPeerPort = false,
        PipeReader? input = null)
    {
        _input = input;
        OnPeerPort = onPeerPort;
        Server = server;
        Output = output;
        Writer = new RespWriter(output);
        Id = server.NextClientId();
        Address = address;
        LocalAddress = localAddress;
        CreatedAt = server.NowMs;
        LastInteraction = Environment.TickCount64;
        Parser = new RequestParser(server.Limits);
        // A peer-port connection must present the cluster secret (ESTORAJE.PEER) before anything else.
        Authenticated = !onPeerPort && string.IsNullOrEmpty(server.RequirePass);
        Parser.Authenticated = Authenticated;
    }

    public ServerContext Server { get; }

    /// <summary>The socket's event-loop connection (null when the .NET socket engine serves it, or for a peer link).</summary>
    internal LoopConnection? Connection { get; init; }

    public SessionCounters Counters { get; } = new(Commands.CommandTable.Instance.AllWithSubcommands.Count);

    public IKeyValueStore Store => Server.Store;

    public RespWriter Writer { get; }

    /// <summary>The connection's output, under <see cref="Writer"/>: a flush sends what was written.</summary>
    public PipeWriter Output { get; }

    public RequestParser Parser { get; }

    /// <summary>The command it named last (see <see cref="Commands.RecentCommand"/>).</summary>
    public Commands.RecentCommand RecentCommand { get; } = new();

    public long Id { get; }

    public string Address { get; }

    public string LocalAddress { get; }

    public long CreatedAt { get; }

    /// <summary>When it last sent something, in <see cref="Environment.TickCount64"/>'s milliseconds (a cheaper clock read).</summary>
    public long LastInteraction { get; set; }

    public string LastCommand { get; set; } = "NULL";

    public string Name { get; set; } = "";

    public string LibName { get; set; } = "";

    public string LibVersion { get; set; } = "";

    public bool NoEvict { get; set; }

    public bool NoTouch { get; set; }

    public bool Authenticated { get; private set; }

    /// <summary>Accepted on the peer port: only ESTORAJE.PEER is served until it authenticates.</summary>
    public bool OnPeerPort { get; }

    /// <summary>Another node's connection: its commands run here, never routed again.</summary>
    public bool IsPeer { get; set; }

    /// <summary>Replicas holding this connection's last write (WAIT); null before any replicated write.</summary>
    public Cluster.WriteAcks? LastWrite { get; set; }

    /// <summary>MULTI state (queued commands, refusals) and WATCHed keys.</summary>
    public Commands.Transaction Transaction { get; } = new();

    /// <summary>Set while EXEC runs the queued commands: WAIT then answers at once, as Redis does inside MULTI.</summary>
    public bool RunningTransaction { get; set; }

    /// <summary>Set while a command a script called runs: its reply goes to the script and cannot wait for other nodes.</summary>
    public bool RunningScript { get; set; }

    /// <summary>
    /// Collects the keys written by the commands run while a <see cref="Cluster.ReplicatedRun"/> is open (one
    /// write command, a transaction's EXEC), whose records are then copied to the replicas; null otherwise.
    /// </summary>
    public Cluster.WrittenKeys? WrittenKeys { get; set; }

    /// <summary>Set while this node answers its part of a cluster-wide KEYS, SCAN or DBSIZE.</summary>
    public bool OwnedKeysOnly { get; set; }

    /// <summary>Set when the batch being executed wrote: its replies wait for <see cref="IKeyValueStore.CommitAsync"/>.</summary>
    public bool PendingCommit { get; set; }

    /// <summary>
    /// Set while the batch being executed has a command waiting for its slot to open: completes when the last
    /// such command was sent on (see <see cref="Cluster.Router.ForwardWhenOpenAsync"/>). Cleared after each batch.
    /// </summary>
    public Task? WaitChain { get; set; }

    /// <summary>Set by QUIT, CLIENT KILL of oneself and protocol errors: close once the replies are flushed.</summary>
    public bool CloseAfterReply { get; set; }

    public CancellationToken Killed => _kill.Token;

    /// <summary>Its subscriptions and the messages waiting for it; null until its first (P|S)SUBSCRIBE.</summary>
    public Subscriber? PubSub { get; private set; }

    /// <summary>The pub/sub state, created on first use.</summary>
    public Subscriber Subscriptions => PubSub ??= new Subscriber(this);

    /// <summary>
    /// Makes the connection's loop return from its read at once (or from its next read), so that it writes the
    /// messages waiting for it even when the client sends nothing. Any thread.
    /// </summary>
    public void Wake()
    {
        if (Connection is { } connection)
        {
            connection.Wake();
            return;
        }

        try
        {
            _input?.CancelPendingRead();
        }
        catch (InvalidOperationException)
        {
            // The connection is closing.
        }
    }

    /// <summary>
    /// Replies of the current batch that come after one still awaited from another node, in request order.
    /// Once a reply is deferred, later replies of the batch are captured instead of written, so that the
    /// batch keeps running (pipelined forwards) while the client still gets every reply in order.
    /// </summary>
    public Queue<Task<byte[]>> Deferred { get; } = new();

    public bool Deferring => _direct is not null;

    public void Defer(Task<byte[]> reply)
    {
        if (_direct is null)
        {
            _direct = Writer.Output;
            _capture ??= new ArrayBufferWriter<byte>();
            Writer.Output = _capture;
        }
        else
        {
            CaptureSoFar();
        }

        Deferred.Enqueue(reply);
    }

    /// <summary>Ends deferring for the batch: the writer writes to the connection again.</summary>
    public void StopDeferring()
    {
        CaptureSoFar();
        Writer.Output = _direct!;
        _direct = null;
    }

    private void CaptureSoFar()
    {
        if (_capture!.WrittenCount == 0)
            return;
        Deferred.Enqueue(Task.FromResult(_capture.WrittenSpan.ToArray()));
        _capture.ResetWrittenCount();
    }

    public void SetAuthenticated(bool value)
    {
        Authenticated = value;
        Parser.Authenticated = value;
    }

    /// <summary>Closes the connection from another connection (CLIENT KILL).</summary>
    public void Kill()
    {
        try
        {
            _kill.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already gone.
        }
    }

    public void Dispose() => _kill.Dispose();

    /// <summary>One CLIENT LIST / CLIENT INFO line, in Redis's field order.</summary>
    public string Describe(long now)
    {
        var sb = new StringBuilder(256);
        sb.Append("id=").Append(Id)
          .Append(" addr=").Append(Address)
          .Append(" laddr=").Append(LocalAddress)
          .Append(" fd=").Append(Id + 7)
          .Append(" name=").Append(Name)
          .Append(" age=").Append((now - CreatedAt) / 1000)
          .Append(" idle=").Append((Environment.TickCount64 - LastInteraction) / 1000)
          .Append(" flags=").Append(Flags())
          .Append(" db=0 sub=").Append(PubSub?.Channels.Count ?? 0)
          .Append(" psub=").Append(PubSub?.Patterns.Count ?? 0)
          .Append(" ssub=").Append(PubSub?.ShardChannels.Count ?? 0)
          .Append(" multi=").Append(Transaction.Active ? Transaction.Queued.Count : -1)
          .Append(" qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r")
          .Append(" cmd=").Append(LastCommand)
          .Append(" user=default redir=-1 resp=").Append(Writer.Protocol)
          .Append(" lib-name=").Append(LibName)
          .Append(" lib-ver=").Append(LibVersion)
          .Append(" io-thread=").Append(Connection?.LoopIndex ?? 0);
        return sb.ToString();
    }

    // Redis's letters in its order: P a subscriber, x in MULTI, e no-evict; N when there is none.
    private string Flags()
    {
        var flags = (PubSub?.IsSubscribed == true ? "P" : "") + (Transaction.Active ? "x" : "") + (NoEvict ? "e" : "");
        return flags.Length == 0 ? "N" : flags;
    }
}

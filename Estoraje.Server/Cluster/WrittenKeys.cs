using System.Buffers;
using Estoraje.Resp;
using Estoraje.Server.Commands;
using Estoraje.Server.Network;

namespace Estoraje.Server.Cluster;

/// <summary>
/// The keys written while a <see cref="ReplicatedRun"/> is open on a session: <see cref="CommandTable.Execute"/>
/// adds the keys (<see cref="KeyPositions"/>) of every command with the write flag it runs, each key once, whatever ran it
/// (the connection loop, EXEC, a script's calls).
/// </summary>
internal sealed class WrittenKeys
{
    // Most runs write one key or a few: a linear scan finds repeats; past that a set does.
    private const int ScanLimit = 8;

    private readonly List<byte[]> _keys = [];
    private HashSet<byte[]>? _seen;

    public IReadOnlyList<byte[]> Keys => _keys;

    /// <summary>Adds the keys of a write <paramref name="command"/> as <paramref name="request"/> gives them.</summary>
    public void Add(CommandDefinition command, RespRequest request)
    {
        foreach (var position in command.Keys(request))
            Add(request[position]);
    }

    public void Add(ReadOnlySpan<byte> key)
    {
        if (_seen is null)
        {
            foreach (var known in _keys)
            {
                if (key.SequenceEqual(known))
                    return;
            }

            _keys.Add(key.ToArray());
            if (_keys.Count > ScanLimit)
                _seen = new HashSet<byte[]>(_keys, ByteArrayComparer.Instance);
            return;
        }

        var copy = key.ToArray();
        if (_seen.Add(copy))
            _keys.Add(copy);
    }
}

/// <summary>
/// Commands run on a slot's primary whose replies are held back until their writes are copied: while open, the
/// session's replies go to a buffer and the keys its write commands touch are collected in
/// <see cref="ClientSession.WrittenKeys"/>; <see cref="End"/> restores the session, and <see cref="ReplicateAsync"/>
/// copies each written key's record and returns the replies once W copies hold them (see <see cref="Replication"/>).
/// A command run while a run is already open (a script called inside EXEC) adds to the open run instead of opening one.
/// </summary>
internal sealed class ReplicatedRun
{
    private readonly ClientSession _session;
    private readonly IBufferWriter<byte> _output;
    private readonly ArrayBufferWriter<byte> _captured = new();
    private byte[]? _reply;

    public ReplicatedRun(ClientSession session)
    {
        _session = session;
        _output = session.Writer.Output;
        session.Writer.Output = _captured;
        session.WrittenKeys = Written;
    }

    public WrittenKeys Written { get; } = new();

    /// <summary>Stops capturing: the session writes to its connection again and collects no more keys.</summary>
    public void End()
    {
        if (_reply is not null)
            return;
        _session.Writer.Output = _output;
        _session.WrittenKeys = null;
        _reply = _captured.WrittenSpan.ToArray();
    }

    /// <summary>After <see cref="End"/>: copies the written keys' records; the captured replies once W copies hold them.</summary>
    public Task<byte[]> ReplicateAsync(ClusterView view) =>
        Replication.ReplicateAsync(_session, view, _reply ?? throw new InvalidOperationException("The run is still open."), Written.Keys);
}

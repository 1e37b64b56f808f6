using System.Buffers;

namespace Estoraje.Server.Network;

/// <summary>
/// The protocol side of a <see cref="LoopConnection"/>: what runs the requests its loop reads. Every call is on the
/// loop thread that owns the connection at the time.
/// </summary>
internal interface ILoopClient
{
    /// <summary>
    /// Runs the complete requests at the start of <paramref name="input"/> and advances it past them. Returns whether
    /// the connection goes on (true) or ends once its replies are sent (false); a task that is not complete holds the
    /// connection's next batch until it is (replies from other nodes, a commit, a full socket).
    /// </summary>
    /// <param name="received">Bytes arrived since the last call (otherwise the call is a <see cref="LoopConnection.Wake"/>).</param>
    /// <param name="ended">The client will send nothing more: run what is complete, then end.</param>
    ValueTask<bool> Serve(ref ReadOnlySequence<byte> input, bool received, bool ended);

    /// <summary>
    /// The connection is done: <see cref="Serve"/> is not called again, and no task it returned is pending. The client
    /// releases what it holds and completes the connection's output (whose last replies are then sent, unless the
    /// connection was closed).
    /// </summary>
    /// <param name="error">Why the socket failed, if it did.</param>
    void Closed(Exception? error);
}

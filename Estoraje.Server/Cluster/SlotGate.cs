namespace Estoraje.Server.Cluster;

/// <summary>
/// Which slots this node must not serve yet: it became their primary and is pulling what the other replicas
/// hold first. A closed slot has a task that completes when it opens. Lock-free to read on every command.
/// </summary>
internal sealed class SlotGate
{
    private readonly TaskCompletionSource?[] _closed = new TaskCompletionSource?[Ring.KeySlot.Count];
    private int _closedCount;

    /// <summary>Slots closed now.</summary>
    public int ClosedCount => Volatile.Read(ref _closedCount);

    public bool IsClosed(int slot) => Volatile.Read(ref _closed[slot]) is not null;

    /// <summary>Completes when <paramref name="slot"/> opens (at once when it is open).</summary>
    public Task WhenOpen(int slot) => Volatile.Read(ref _closed[slot])?.Task ?? Task.CompletedTask;

    public void Close(int slot)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _closed[slot], gate, null) is null)
            Interlocked.Increment(ref _closedCount);
    }

    public void Open(int slot)
    {
        var gate = Interlocked.Exchange(ref _closed[slot], null);
        if (gate is null)
            return;
        Interlocked.Decrement(ref _closedCount);
        gate.TrySetResult();
    }
}

namespace Estoraje.Storage;

/// <summary>
/// Holds the locks of one or more shards of a store for an atomic multi-step operation (read, decide,
/// write). Shards are taken in ascending order, so two holders can never deadlock. Store operations on
/// keys of held shards re-enter the same locks.
/// </summary>
public readonly ref struct KeyLock
{
    private readonly Lock[] _locks;
    private readonly ulong _mask;

    internal KeyLock(Lock[] locks, ulong mask)
    {
        _locks = locks;
        _mask = mask;
        var bits = mask;
        while (bits != 0)
        {
            _locks[System.Numerics.BitOperations.TrailingZeroCount(bits)].Enter();
            bits &= bits - 1;
        }
    }

    /// <summary>Releases every shard taken.</summary>
    public void Dispose()
    {
        var bits = _mask;
        while (bits != 0)
        {
            _locks[System.Numerics.BitOperations.TrailingZeroCount(bits)].Exit();
            bits &= bits - 1;
        }
    }
}

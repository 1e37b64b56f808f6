namespace Estoraje.Server.Cluster;

/// <summary>
/// How many replicas hold a connection's last write (every key's record, counted by its least-copied
/// record), for WAIT. Counts keep rising after the reply left, as slower replicas acknowledge.
/// </summary>
internal sealed class WriteAcks
{
    private readonly int[] _records;
    private readonly Lock _lock = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private WriteAcks(int records, int initial)
    {
        _records = new int[records];
        Array.Fill(_records, initial);
    }

    /// <summary>Replicas holding every record of the write.</summary>
    public int Acknowledged
    {
        get
        {
            lock (_lock)
                return _records.Length == 0 ? 0 : _records.Min();
        }
    }

    /// <summary>A write forwarded to its primary: its reply proved only that the quorum held it.</summary>
    public static WriteAcks AtLeast(int replicas) => new(1, replicas);

    /// <summary>Tracks the copies of each record as they are acknowledged.</summary>
    public static WriteAcks Track(List<List<Task<byte[]>>> copies)
    {
        var acks = new WriteAcks(copies.Count, 0);
        for (var record = 0; record < copies.Count; record++)
        {
            var index = record;
            foreach (var copy in copies[record])
            {
                _ = copy.ContinueWith(t =>
                {
                    if (t.IsCompletedSuccessfully && t.Result.Length > 0 && t.Result[0] == (byte)':')
                        acks.Add(index);
                }, TaskScheduler.Default);
            }
        }

        return acks;
    }

    /// <summary>Completes when <see cref="Acknowledged"/> reaches <paramref name="replicas"/> or the timeout passes (0: never).</summary>
    public async Task<int> WaitAsync(int replicas, TimeSpan timeout)
    {
        var deadline = timeout == TimeSpan.Zero ? (DateTime?)null : DateTime.UtcNow + timeout;
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                var acknowledged = _records.Length == 0 ? 0 : _records.Min();
                if (acknowledged >= replicas)
                    return acknowledged;
                changed = _changed.Task;
            }

            if (deadline is null)
            {
                await changed;
                continue;
            }

            var left = deadline.Value - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || await Task.WhenAny(changed, Task.Delay(left)) != changed)
                return Acknowledged;
        }
    }

    private void Add(int record)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            _records[record]++;
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }
}

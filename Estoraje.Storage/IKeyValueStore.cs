namespace Estoraje.Storage;

/// <summary>
/// A keyspace of binary-safe keys. Each operation is atomic on its own; a caller that must read and then
/// write (INCR, SET NX, RENAME) takes <see cref="Lock(ReadOnlySpan{byte})"/> on every key it touches first.
/// Expired keys are never returned: they are removed lazily on access and by <see cref="ExpireCycle"/>.
/// Times are Unix milliseconds from the store's clock.
/// </summary>
public interface IKeyValueStore : IDisposable
{
    /// <summary>Keys held, expired ones not yet reclaimed included (as Redis's DBSIZE).</summary>
    long Count { get; }

    /// <summary>Keys held that have an expiry.</summary>
    long ExpiringCount { get; }

    /// <summary>Expired keys reclaimed so far (lazily or actively).</summary>
    long ExpiredTotal { get; }

    /// <summary>Approximate bytes held by keys, values and their bookkeeping.</summary>
    long UsedBytes { get; }

    /// <summary>The clock that versions this store's writes (a cluster sets its <see cref="HybridClock.Ordinal"/>).</summary>
    HybridClock Clock { get; }

    /// <summary>Now, by the store's clock, in Unix milliseconds.</summary>
    long Now { get; }

    /// <summary>The shard bit of <paramref name="key"/>, to build a mask for <see cref="Lock(ulong)"/>.</summary>
    ulong ShardMask(ReadOnlySpan<byte> key);

    /// <summary>Locks the shard of <paramref name="key"/>.</summary>
    KeyLock Lock(ReadOnlySpan<byte> key);

    /// <summary>Locks every shard in <paramref name="shardMask"/> (<see cref="ulong.MaxValue"/>: all of them).</summary>
    KeyLock Lock(ulong shardMask);

    /// <summary>Reads a key. <paramref name="touch"/> updates its last access time (OBJECT IDLETIME).</summary>
    bool TryGet(ReadOnlySpan<byte> key, out StoredValue value, bool touch = true);

    /// <summary>Whether the key exists (and has not expired).</summary>
    bool Exists(ReadOnlySpan<byte> key);

    /// <summary>
    /// Stores a value of any kind (a collection as its encoding), replacing whatever the key held. The store
    /// takes ownership of <paramref name="value"/>.
    /// </summary>
    /// <param name="key">The key (copied when new).</param>
    /// <param name="kind">The value's type; not <see cref="ValueKind.None"/>.</param>
    /// <param name="value">The bytes; the first <paramref name="length"/> are the value.</param>
    /// <param name="length">Bytes used of <paramref name="value"/>.</param>
    /// <param name="expiresAt">Absolute expiry, 0 for none.</param>
    void SetValue(ReadOnlySpan<byte> key, ValueKind kind, byte[] value, int length, long expiresAt);

    /// <summary>
    /// Appends to a string value (creating it if the key is missing), keeping its expiry; returns the new length.
    /// The caller has checked that the key holds no other type.
    /// </summary>
    int Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> tail);

    /// <summary>Removes a key; false when it did not exist.</summary>
    bool Remove(ReadOnlySpan<byte> key);

    /// <summary>Changes the expiry of an existing key (0 removes it); false when the key does not exist.</summary>
    bool SetExpiry(ReadOnlySpan<byte> key, long expiresAt);

    /// <summary>Removes every key.</summary>
    void Clear();

    /// <summary>
    /// One step of a cursor walk over every key (Redis's SCAN guarantee: a key present for the whole walk
    /// is returned at least once). Start with cursor 0; a returned 0 ends the walk.
    /// </summary>
    /// <param name="cursor">Cursor from the previous step.</param>
    /// <param name="count">Keys wanted (a hint).</param>
    /// <param name="keys">Receives the keys found.</param>
    ulong Scan(ulong cursor, int count, List<byte[]> keys);

    /// <summary>A random existing key, or null when the store is empty.</summary>
    byte[]? RandomKey();

    /// <summary>Active expiry: samples keys with an expiry and reclaims the expired ones, within a time budget.</summary>
    /// <returns>Keys reclaimed.</returns>
    int ExpireCycle(TimeSpan budget);

    /// <summary>
    /// The version of the latest write of <paramref name="key"/> that the store remembers: a live value's, or a
    /// deleted or expired key's whose tombstone is still kept. Every local write gets a version higher than
    /// any the store has issued or applied (<see cref="HybridClock"/>).
    /// </summary>
    bool TryGetVersion(ReadOnlySpan<byte> key, out long version);

    /// <summary>
    /// The highest version among the writes of <paramref name="key"/>'s shard that were removed leaving no
    /// tombstone (0 when none). A key the store held no version of when <see cref="Clock"/> read T was written and
    /// removed since only if this exceeds T (WATCH of an absent key relies on it). The memory store keeps no
    /// tombstones and tracks this per shard; the log store's deletes and expiries leave tombstones, only FLUSHALL
    /// removes keys without them, and it answers the flush's own version (as if every key had been flushed).
    /// </summary>
    long RemovedVersion(ReadOnlySpan<byte> key);

    /// <summary>
    /// Applies a record written elsewhere (a replica's copy of a primary's write), keeping its version, only
    /// if that version is higher than the version held for the key; re-delivered and out-of-order records
    /// are therefore harmless. Returns whether the record was applied.
    /// </summary>
    bool Apply(in StoreRecord record);

    /// <summary>
    /// Completes once every write made before the call is as durable as the store promises (for the log
    /// store under <c>appendfsync always</c>: fsync'd). Callers acknowledge writes only after it completes.
    /// Completes synchronously when there is nothing to wait for.
    /// </summary>
    ValueTask CommitAsync();

    /// <summary>
    /// Whether some write is not yet as durable as <see cref="CommitAsync"/> makes it (for the log store: still in
    /// its buffer, or under <c>appendfsync always</c> not yet fsync'd). A reply that may show such a write waits for
    /// a commit too, so that no client sees a write a crash could still take back.
    /// </summary>
    bool HasUncommittedWrites { get; }

    /// <summary>
    /// A hint that reads or writes of these keys (<paramref name="keys"/>, ranges of <paramref name="data"/>) follow
    /// soon: the store may start loading what their lookups will touch, all of them at once (for the log store: the
    /// buckets, entries, keys and cached values, in stages, so that their cache misses overlap instead of each
    /// waiting for the last). Changes nothing.
    /// </summary>
    void Prefetch(ReadOnlySpan<byte> data, ReadOnlySpan<Range> keys);

    /// <summary>
    /// Makes every write made before the call as durable as <see cref="CommitAsync"/> does, on the calling thread:
    /// for the log store under <c>appendfsync always</c>, the caller fsyncs (after an fsync already under way, if
    /// that one does not cover its writes). An event loop that commits its pass's writes so blocks during the
    /// fsync, as Redis's does, and its clients' requests meanwhile gather for the next pass's one fsync. The
    /// caller must hold no lock of the store: connections released by the fsync may run their next batch here.
    /// </summary>
    void Commit();

    /// <summary>
    /// Null while the store accepts writes; after a failed disk write, the reason (the store then refuses every
    /// write, as Redis refuses writes with <c>-MISCONF</c> after an AOF write error, until it is restarted).
    /// </summary>
    string? WriteError => null;

    /// <summary>
    /// Whether a deleted or expired key leaves a tombstone whose version <see cref="TryGetVersion"/> reports (the log
    /// store, for a grace period); the memory store forgets deleted keys at once.
    /// </summary>
    bool KeepsTombstones => true;
}

/// <summary>Shorthands over <see cref="IKeyValueStore"/>.</summary>
public static class KeyValueStoreExtensions
{
    /// <summary>Stores a string value, replacing whatever the key held. The store takes ownership of <paramref name="value"/>.</summary>
    /// <param name="store">The store.</param>
    /// <param name="key">The key (copied when new).</param>
    /// <param name="value">The bytes; the first <paramref name="length"/> are the value.</param>
    /// <param name="length">Bytes used of <paramref name="value"/>.</param>
    /// <param name="expiresAt">Absolute expiry, 0 for none.</param>
    public static void SetString(this IKeyValueStore store, ReadOnlySpan<byte> key, byte[] value, int length, long expiresAt) =>
        store.SetValue(key, ValueKind.String, value, length, expiresAt);
}

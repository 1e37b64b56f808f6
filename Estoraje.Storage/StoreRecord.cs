namespace Estoraje.Storage;

/// <summary>
/// One write as replication carries it: a key with a value, or a tombstone (<see cref="Kind"/> is
/// <see cref="ValueKind.None"/>), its absolute expiry and the version the primary gave it.
/// </summary>
public readonly struct StoreRecord
{
    /// <summary>Creates a value record; the store takes ownership of <paramref name="value"/>.</summary>
    public StoreRecord(byte[] key, long version, ValueKind kind, byte[] value, int length, long expiresAt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(version, 0);
        Key = key;
        Version = version;
        Kind = kind;
        Value = value;
        Length = length;
        ExpiresAt = expiresAt;
    }

    private StoreRecord(byte[] key, long version)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(version, 0);
        Key = key;
        Version = version;
    }

    /// <summary>The key.</summary>
    public byte[] Key { get; }

    /// <summary>Version given by the writer.</summary>
    public long Version { get; }

    /// <summary>Type of the value; <see cref="ValueKind.None"/> for a tombstone.</summary>
    public ValueKind Kind { get; }

    /// <summary>The value's bytes (the first <see cref="Length"/> are used); null for a tombstone.</summary>
    public byte[]? Value { get; }

    /// <summary>Bytes used of <see cref="Value"/>.</summary>
    public int Length { get; }

    /// <summary>Absolute expiry in Unix milliseconds, 0 for none.</summary>
    public long ExpiresAt { get; }

    /// <summary>Whether the record deletes the key.</summary>
    public bool IsTombstone => Kind == ValueKind.None;

    /// <summary>A record that deletes <paramref name="key"/> at <paramref name="version"/>.</summary>
    public static StoreRecord Tombstone(byte[] key, long version) => new(key, version);
}

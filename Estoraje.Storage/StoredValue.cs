namespace Estoraje.Storage;

/// <summary>The type of the value a key holds (Redis's <c>TYPE</c>).</summary>
public enum ValueKind : byte
{
    /// <summary>No value: the key does not exist.</summary>
    None = 0,

    /// <summary>A binary-safe string.</summary>
    String = 1,
}

/// <summary>
/// A snapshot of one key's value. String bytes are never changed in place once visible (an append only
/// writes past <see cref="Length"/>), so the snapshot stays valid after the store's lock is released.
/// </summary>
public readonly struct StoredValue
{
    /// <summary>Creates a snapshot.</summary>
    public StoredValue(ValueKind kind, object value, int length, long expiresAt, long lastAccess, long version = 0)
    {
        Kind = kind;
        Value = value;
        Length = length;
        ExpiresAt = expiresAt;
        LastAccess = lastAccess;
        Version = version;
    }

    /// <summary>The version of the write that stored this value.</summary>
    public long Version { get; }

    /// <summary>The value's type.</summary>
    public ValueKind Kind { get; }

    /// <summary>The raw value: a <c>byte[]</c> for strings (of which <see cref="Length"/> bytes are used).</summary>
    public object Value { get; }

    /// <summary>Bytes used of a string value.</summary>
    public int Length { get; }

    /// <summary>Absolute expiry in Unix milliseconds, 0 when the key does not expire.</summary>
    public long ExpiresAt { get; }

    /// <summary>Unix milliseconds of the last access that touched the key.</summary>
    public long LastAccess { get; }

    /// <summary>The bytes of a string value.</summary>
    public ReadOnlySpan<byte> Bytes => new((byte[])Value, 0, Length);
}

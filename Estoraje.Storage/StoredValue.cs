namespace Estoraje.Storage;

/// <summary>The type of the value a key holds (Redis's <c>TYPE</c>).</summary>
public enum ValueKind : byte
{
    /// <summary>No value: the key does not exist.</summary>
    None = 0,

    /// <summary>A binary-safe string.</summary>
    String = 1,

    /// <summary>A hash of fields to values, stored encoded by <see cref="Collections.HashValue"/>.</summary>
    Hash = 2,

    /// <summary>A list of elements, stored encoded by <see cref="Collections.ListValue"/>.</summary>
    List = 3,

    /// <summary>A set of members, stored encoded by <see cref="Collections.SetValue"/>.</summary>
    Set = 4,

    /// <summary>A sorted set of scored members, stored encoded by <c>Collections.SortedSetValue</c>.</summary>
    SortedSet = 5,
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

    /// <summary>
    /// The raw value: a <c>byte[]</c> of which <see cref="Length"/> bytes are used — a string's bytes, or a
    /// collection's encoding (see <see cref="ValueKind"/>).
    /// </summary>
    public object Value { get; }

    /// <summary>Bytes used of the value.</summary>
    public int Length { get; }

    /// <summary>Absolute expiry in Unix milliseconds, 0 when the key does not expire.</summary>
    public long ExpiresAt { get; }

    /// <summary>Unix milliseconds of the last access that touched the key.</summary>
    public long LastAccess { get; }

    /// <summary>The bytes of the value (a collection's encoding for a collection).</summary>
    public ReadOnlySpan<byte> Bytes => new((byte[])Value, 0, Length);
}

using Estoraje.Resp;
using Estoraje.Server.Network;
using Estoraje.Storage;
using Estoraje.Storage.Collections;

namespace Estoraje.Server.Commands;

/// <summary>
/// Reading and writing a key as one type, shared by the type families: the WRONGTYPE check, keyspace hit and miss
/// counts, and the rule that a collection left empty is deleted (as Redis deletes it).
/// </summary>
internal static class Values
{
    /// <summary>
    /// Reads <paramref name="key"/> expecting <paramref name="kind"/>; false, with WRONGTYPE written, when it holds
    /// another type. <paramref name="found"/> is false for a missing key.
    /// </summary>
    public static bool TryRead(ClientSession client, ReadOnlySpan<byte> key, ValueKind kind, out StoredValue value, out bool found)
    {
        found = client.Store.TryGet(key, out value, touch: !client.NoTouch);
        if (!found)
        {
            client.Counters.KeyspaceMisses++;
            return true;
        }

        client.Counters.KeyspaceHits++;
        if (value.Kind == kind)
            return true;
        client.Writer.WriteError(Errors.WrongType);
        return false;
    }

    /// <summary>
    /// A read-modify-write of the key at <c>request[1]</c> under its lock: <paramref name="change"/> sees the stored
    /// value (<c>found</c> false for a missing key) and writes the reply; when the key holds another type than
    /// <paramref name="kind"/>, only WRONGTYPE is written.
    /// </summary>
    public static void Change(ClientSession client, RespRequest request, ValueKind kind, ValueChange change)
    {
        var key = request[1];
        using (client.Store.Lock(key))
        {
            if (TryRead(client, key, kind, out var value, out var found))
                change(client, request, value, found);
        }
    }

    /// <summary>Stores a collection's new encoding with its expiry, or deletes the key when it has no element left.</summary>
    public static void Save(IKeyValueStore store, ReadOnlySpan<byte> key, ValueKind kind, int count, Func<byte[]> encode, long expiresAt)
    {
        if (count == 0)
        {
            store.Remove(key);
            return;
        }

        var encoded = encode();
        store.SetValue(key, kind, encoded, encoded.Length, expiresAt);
    }

    /// <summary>The element count of a stored collection, read from its header.</summary>
    public static int CountOf(in StoredValue value) =>
        CollectionEncoding.TryReadHeader(value.Bytes, out var count, out _) ? count : throw CollectionEncoding.Corrupt(value.Kind.ToString());

    /// <summary>The most elements HRANDFIELD, SRANDMEMBER and ZRANDMEMBER return at once (a whole reply is built in memory).</summary>
    public const long MaxRandomCount = 1 << 24;

    /// <summary>
    /// Checks the count of HRANDFIELD, SRANDMEMBER or ZRANDMEMBER: Redis refuses one whose doubled size would overflow
    /// when values or scores come with it; Estoraje also refuses more than <see cref="MaxRandomCount"/> elements, which
    /// Redis would stream. False after writing the error.
    /// </summary>
    public static bool TryCheckRandomCount(ClientSession client, long count, bool pairs)
    {
        if (count == long.MinValue)
        {
            client.Writer.WriteError(Errors.NotLongMagnitude);
            return false;
        }

        if (pairs && (count < -long.MaxValue / 2 || count > long.MaxValue / 2))
        {
            client.Writer.WriteError("ERR value is out of range");
            return false;
        }

        if (count < -MaxRandomCount)
        {
            client.Writer.WriteError($"ERR value is out of range, at most {MaxRandomCount} elements are returned");
            return false;
        }

        return true;
    }

    /// <summary>
    /// The start of HSCAN, SSCAN and ZSCAN, in Redis's order: the cursor is checked, then the key (a missing key gets
    /// an empty page whatever the options say, another type WRONGTYPE), then the options. False once a reply is
    /// written; true with the options and the stored collection to walk.
    /// </summary>
    public static bool TryStartScan(ClientSession client, RespRequest request, ValueKind kind, bool allowNoValues, out ScanOptions options, out StoredValue value)
    {
        options = default;
        value = default;
        if (!KeyCommands.TryParseCursor(request[2], out var cursor))
        {
            client.Writer.WriteError(Errors.InvalidCursor);
            return false;
        }

        if (!TryRead(client, request[1], kind, out value, out var found))
            return false;
        if (!found)
        {
            WriteScanReply(client, 0, 0, static _ => { });
            return false;
        }

        return TryParseScanOptions(client, request, cursor, 3, allowNoValues, allowType: false, out options);
    }

    /// <summary>
    /// Parses the options of the SCAN family from <paramref name="first"/> on: MATCH pattern, COUNT n, and TYPE t
    /// (SCAN only) or NOVALUES (HSCAN only); false after writing Redis's error.
    /// </summary>
    public static bool TryParseScanOptions(ClientSession client, RespRequest request, ulong cursor, int first, bool allowNoValues,
        bool allowType, out ScanOptions options)
    {
        options = default;
        long count = 10;
        byte[]? pattern = null;
        var noValues = false;
        ValueKind? type = null;
        for (var i = first; i < request.Count; i++)
        {
            var more = i + 1 < request.Count;
            if (more && request.Is(i, "COUNT"u8))
            {
                if (!RespInteger.TryParse(request[++i], out count))
                {
                    client.Writer.WriteError(Errors.NotInteger);
                    return false;
                }

                if (count < 1)
                {
                    client.Writer.WriteError(Errors.Syntax);
                    return false;
                }
            }
            else if (more && request.Is(i, "MATCH"u8))
            {
                var p = request[++i];
                pattern = p.Length == 1 && p[0] == (byte)'*' ? null : p.ToArray();
            }
            else if (allowType && more && request.Is(i, "TYPE"u8))
            {
                type = KeyCommands.ParseType(request[++i]);
            }
            else if (allowNoValues && request.Is(i, "NOVALUES"u8))
            {
                noValues = true;
            }
            else
            {
                client.Writer.WriteError(Errors.Syntax);
                return false;
            }
        }

        options = new ScanOptions(cursor, (int)Math.Min(count, 1 << 20), pattern, noValues, type);
        return true;
    }

    /// <summary>Writes a SCAN-family reply: the next cursor, then the elements.</summary>
    public static void WriteScanReply(ClientSession client, ulong next, int elements, Action<RespWriter> writeElements)
    {
        var writer = client.Writer;
        writer.WriteArrayHeader(2);
        writer.WriteBulkString(next.ToString(System.Globalization.CultureInfo.InvariantCulture));
        writer.WriteArrayHeader(elements);
        writeElements(writer);
    }
}

/// <summary>The step of <see cref="Values.Change"/>: the key's stored value, or <c>found</c> false when it is missing.</summary>
internal delegate void ValueChange(ClientSession client, RespRequest request, StoredValue value, bool found);

/// <summary>
/// The options of a SCAN-family command: where to go on from, how many, which names, whether values are wanted
/// (HSCAN), which type of key (SCAN; null: any).
/// </summary>
internal readonly record struct ScanOptions(ulong Cursor, int Count, byte[]? Pattern, bool NoValues, ValueKind? Type = null)
{
    /// <summary>Whether a name passes MATCH.</summary>
    public bool Matches(ReadOnlySpan<byte> name) => Pattern is null || Glob.IsMatch(Pattern, name);
}

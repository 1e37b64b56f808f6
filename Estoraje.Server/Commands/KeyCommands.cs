using Estoraje.Resp;
using Estoraje.Server.Network;
using Estoraje.Storage;

namespace Estoraje.Server.Commands;

/// <summary>Commands on keys of any type: DEL, EXISTS, SCAN, RENAME, EXPIRE, TTL, OBJECT...</summary>
internal static class KeyCommands
{
    /// <summary>DEL and UNLINK (no lazy freeing needed: the runtime frees memory in the background anyway).</summary>
    public static void Del(ClientSession client, RespRequest request)
    {
        var store = client.Store;
        var removed = 0;
        using (store.Lock(StringCommands.KeyMask(store, request, 1, 1)))
        {
            for (var i = 1; i < request.Count; i++)
            {
                if (store.Remove(request[i]))
                    removed++;
            }
        }

        client.Writer.WriteInteger(removed);
    }

    /// <summary>EXISTS and TOUCH: a key named twice counts twice.</summary>
    public static void Exists(ClientSession client, RespRequest request)
    {
        var store = client.Store;
        var found = 0;
        for (var i = 1; i < request.Count; i++)
        {
            if (store.TryGet(request[i], out _, touch: !client.NoTouch))
                found++;
        }

        client.Writer.WriteInteger(found);
    }

    public static void Type(ClientSession client, RespRequest request)
    {
        client.Store.TryGet(request[1], out var value, touch: !client.NoTouch);
        client.Writer.WriteSimpleString(TypeName(value.Kind));
    }

    public static void Keys(ClientSession client, RespRequest request)
    {
        var pattern = request[1];
        var matchAll = pattern.Length == 1 && pattern[0] == (byte)'*';
        var store = client.Store;
        var keys = new List<byte[]>();
        var batch = new List<byte[]>();
        var owned = Cluster.Replication.OwnedKeys(client);
        ulong cursor = 0;
        do
        {
            batch.Clear();
            cursor = store.Scan(cursor, 1000, batch);
            foreach (var key in batch)
            {
                if ((matchAll || Glob.IsMatch(pattern, key)) && (owned is null || owned(key)) && store.TryGet(key, out _, touch: false))
                    keys.Add(key);
            }
        }
        while (cursor != 0);

        // A walk can return a key twice when the table resizes during it; KEYS lists each once.
        var seen = new HashSet<byte[]>(keys.Count, ByteArrayComparer.Instance);
        keys.RemoveAll(k => !seen.Add(k));
        client.Writer.WriteArrayHeader(keys.Count);
        foreach (var key in keys)
            client.Writer.WriteBulkString(key);
    }

    public static void Scan(ClientSession client, RespRequest request)
    {
        if (!TryParseCursor(request[1], out var cursor))
        {
            client.Writer.WriteError(Errors.InvalidCursor);
            return;
        }

        if (!Values.TryParseScanOptions(client, request, cursor, 2, allowNoValues: false, allowType: true, out var options))
            return;

        var store = client.Store;
        var keys = new List<byte[]>();
        var next = store.Scan(cursor, options.Count, keys);
        var owned = Cluster.Replication.OwnedKeys(client);
        if (owned is not null)
            keys.RemoveAll(key => !owned(key));
        keys.RemoveAll(key =>
            !store.TryGet(key, out var value, touch: false) ||
            (options.Type is { } type && value.Kind != type) ||
            !options.Matches(key));
        Values.WriteScanReply(client, next, keys.Count, writer =>
        {
            foreach (var key in keys)
                writer.WriteBulkString(key);
        });
    }

    public static void RandomKey(ClientSession client, RespRequest request)
    {
        var key = client.Store.RandomKey();
        if (key is null)
            client.Writer.WriteNull();
        else
            client.Writer.WriteBulkString(key);
    }

    public static void Rename(ClientSession client, RespRequest request) => RenameGeneric(client, request, onlyIfAbsent: false);

    public static void RenameNx(ClientSession client, RespRequest request) => RenameGeneric(client, request, onlyIfAbsent: true);

    public static void Copy(ClientSession client, RespRequest request)
    {
        var replace = false;
        for (var i = 3; i < request.Count; i++)
        {
            if (request.Is(i, "REPLACE"u8))
            {
                replace = true;
            }
            else if (request.Is(i, "DB"u8) && i + 1 < request.Count)
            {
                if (!RespInteger.TryParse(request[++i], out var db))
                {
                    client.Writer.WriteError(Errors.NotInteger);
                    return;
                }

                if (db != 0)
                {
                    client.Writer.WriteError(Errors.DbIndexOutOfRange);
                    return;
                }
            }
            else
            {
                client.Writer.WriteError(Errors.Syntax);
                return;
            }
        }

        var store = client.Store;
        var source = request[1];
        var destination = request[2];
        if (source.SequenceEqual(destination))
        {
            client.Writer.WriteError(Errors.SameObject);
            return;
        }

        using (store.Lock(store.ShardMask(source) | store.ShardMask(destination)))
        {
            if (!store.TryGet(source, out var value) || (!replace && store.Exists(destination)))
            {
                client.Writer.WriteInteger(0);
                return;
            }

            store.SetValue(destination, value.Kind, value.Bytes.ToArray(), value.Length, value.ExpiresAt);
        }

        client.Writer.WriteInteger(1);
    }

    public static void Expire(ClientSession client, RespRequest request) => ExpireGeneric(client, request, 1000, relative: true);

    public static void PExpire(ClientSession client, RespRequest request) => ExpireGeneric(client, request, 1, relative: true);

    public static void ExpireAt(ClientSession client, RespRequest request) => ExpireGeneric(client, request, 1000, relative: false);

    public static void PExpireAt(ClientSession client, RespRequest request) => ExpireGeneric(client, request, 1, relative: false);

    public static void Ttl(ClientSession client, RespRequest request) => TtlGeneric(client, request, milliseconds: false, absolute: false);

    public static void PTtl(ClientSession client, RespRequest request) => TtlGeneric(client, request, milliseconds: true, absolute: false);

    public static void ExpireTime(ClientSession client, RespRequest request) => TtlGeneric(client, request, milliseconds: false, absolute: true);

    public static void PExpireTime(ClientSession client, RespRequest request) => TtlGeneric(client, request, milliseconds: true, absolute: true);

    public static void Persist(ClientSession client, RespRequest request)
    {
        var store = client.Store;
        using (store.Lock(request[1]))
        {
            var changed = store.TryGet(request[1], out var value, touch: false) && value.ExpiresAt != 0 && store.SetExpiry(request[1], 0);
            client.Writer.WriteInteger(changed ? 1 : 0);
        }
    }

    public static void ObjectEncoding(ClientSession client, RespRequest request)
    {
        if (!client.Store.TryGet(request[2], out var value, touch: false))
        {
            client.Writer.WriteNull();
            return;
        }

        client.Writer.WriteBulkString(EncodingName(value));
    }

    // Redis keeps integer-looking strings as "int", short ones as "embstr" (<= 44 bytes), others "raw"; collections
    // as a compact "listpack" up to its default *-max-listpack-entries (128; lists: quicklist beyond) and a
    // hashtable (sets of integers up to 512: intset; sorted sets: skiplist) beyond. Estoraje stores each collection
    // as one encoded value whatever its size: the names say what Redis would use, for clients that look.
    private static string EncodingName(in StoredValue value)
    {
        if (value.Kind == ValueKind.String)
        {
            var bytes = value.Bytes;
            return Numbers.IsCanonicalInteger(bytes) ? "int" : bytes.Length <= 44 ? "embstr" : "raw";
        }

        var small = Values.CountOf(value) <= 128;
        return value.Kind switch
        {
            ValueKind.Hash => small ? "listpack" : "hashtable",
            ValueKind.List => small ? "listpack" : "quicklist",
            ValueKind.Set => small ? "listpack" : "hashtable",
            _ => small ? "listpack" : "skiplist",
        };
    }

    public static void ObjectFreq(ClientSession client, RespRequest request)
    {
        if (!client.Store.TryGet(request[2], out _, touch: false))
            client.Writer.WriteNull();
        else
            client.Writer.WriteError("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
    }

    public static void ObjectIdleTime(ClientSession client, RespRequest request)
    {
        if (!client.Store.TryGet(request[2], out var value, touch: false))
            client.Writer.WriteNull();
        else
            client.Writer.WriteInteger(Math.Max(0, (client.Store.Now - value.LastAccess) / 1000));
    }

    public static void ObjectRefCount(ClientSession client, RespRequest request)
    {
        if (!client.Store.TryGet(request[2], out var value, touch: false))
        {
            client.Writer.WriteNull();
            return;
        }

        // Redis shares the objects of small integers (0..9999) and reports them as immortal.
        var shared = RespInteger.TryParse(value.Bytes, out var n) && n is >= 0 and < 10000;
        client.Writer.WriteInteger(shared ? int.MaxValue : 1);
    }

    public static void ObjectHelp(ClientSession client, RespRequest request) => ServerCommands.WriteHelp(client, "OBJECT",
    [
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
    ]);

    internal static string TypeName(ValueKind kind) => kind switch
    {
        ValueKind.String => "string",
        ValueKind.Hash => "hash",
        ValueKind.List => "list",
        ValueKind.Set => "set",
        ValueKind.SortedSet => "zset",
        _ => "none",
    };

    internal static ValueKind ParseType(ReadOnlySpan<byte> name)
    {
        for (var kind = ValueKind.String; kind <= ValueKind.SortedSet; kind++)
        {
            if (System.Text.Ascii.EqualsIgnoreCase(name, TypeName(kind)))
                return kind;
        }

        return (ValueKind)255;
    }

    // Redis reads the cursor with strtoul: an optional sign ('-' negates modulo 2^64), then digits; an empty
    // cursor is 0. Leading spaces, trailing bytes and overflow are refused.
    internal static bool TryParseCursor(ReadOnlySpan<byte> text, out ulong cursor)
    {
        cursor = 0;
        var negative = false;
        if (!text.IsEmpty && text[0] is (byte)'+' or (byte)'-')
        {
            negative = text[0] == (byte)'-';
            text = text[1..];
            if (text.IsEmpty)
                return false;
        }

        foreach (var c in text)
        {
            var digit = (uint)(c - '0');
            if (digit > 9 || cursor > (ulong.MaxValue - digit) / 10)
                return false;
            cursor = cursor * 10 + digit;
        }

        if (negative)
            cursor = unchecked(0UL - cursor);
        return true;
    }

    private static void RenameGeneric(ClientSession client, RespRequest request, bool onlyIfAbsent)
    {
        var store = client.Store;
        var source = request[1];
        var destination = request[2];
        using (store.Lock(store.ShardMask(source) | store.ShardMask(destination)))
        {
            if (!store.TryGet(source, out var value, touch: false))
            {
                client.Writer.WriteError(Errors.NoSuchKey);
                return;
            }

            if (source.SequenceEqual(destination))
            {
                if (onlyIfAbsent)
                    client.Writer.WriteInteger(0);
                else
                    client.Writer.WriteOk();
                return;
            }

            if (onlyIfAbsent && store.Exists(destination))
            {
                client.Writer.WriteInteger(0);
                return;
            }

            store.SetValue(destination, value.Kind, (byte[])value.Value, value.Length, value.ExpiresAt);
            store.Remove(source);
        }

        if (onlyIfAbsent)
            client.Writer.WriteInteger(1);
        else
            client.Writer.WriteOk();
    }

    // Redis's expireGenericCommand.
    private static void ExpireGeneric(ClientSession client, RespRequest request, long unitMs, bool relative)
    {
        bool nx = false, xx = false, gt = false, lt = false;
        for (var i = 3; i < request.Count; i++)
        {
            if (request.Is(i, "NX"u8))
                nx = true;
            else if (request.Is(i, "XX"u8))
                xx = true;
            else if (request.Is(i, "GT"u8))
                gt = true;
            else if (request.Is(i, "LT"u8))
                lt = true;
            else
            {
                client.Writer.WriteError($"ERR Unsupported option {request.GetString(i)}");
                return;
            }
        }

        if (nx && (xx || gt || lt))
        {
            client.Writer.WriteError("ERR NX and XX, GT or LT options at the same time are not compatible");
            return;
        }

        if (gt && lt)
        {
            client.Writer.WriteError("ERR GT and LT options at the same time are not compatible");
            return;
        }

        if (!RespInteger.TryParse(request[2], out var when))
        {
            client.Writer.WriteError(Errors.NotInteger);
            return;
        }

        if (unitMs == 1000)
        {
            if (when > long.MaxValue / 1000 || when < long.MinValue / 1000)
            {
                client.Writer.WriteError(Errors.InvalidExpireTime(client.LastCommand));
                return;
            }

            when *= 1000;
        }

        var store = client.Store;
        var now = store.Now;
        if (relative)
        {
            if (when > long.MaxValue - now)
            {
                client.Writer.WriteError(Errors.InvalidExpireTime(client.LastCommand));
                return;
            }

            when += now;
        }

        var key = request[1];
        using (store.Lock(key))
        {
            if (!store.TryGet(key, out var value, touch: false))
            {
                client.Writer.WriteInteger(0);
                return;
            }

            var current = value.ExpiresAt;
            if ((nx && current != 0) || (xx && current == 0) || (gt && (current == 0 || when <= current)) ||
                (lt && current != 0 && when >= current))
            {
                client.Writer.WriteInteger(0);
                return;
            }

            if (when <= now)
                store.Remove(key);
            else
                store.SetExpiry(key, when);
        }

        client.Writer.WriteInteger(1);
    }

    private static void TtlGeneric(ClientSession client, RespRequest request, bool milliseconds, bool absolute)
    {
        var store = client.Store;
        if (!store.TryGet(request[1], out var value, touch: false))
        {
            client.Writer.WriteInteger(-2);
            return;
        }

        if (value.ExpiresAt == 0)
        {
            client.Writer.WriteInteger(-1);
            return;
        }

        var ttl = Math.Max(0, absolute ? value.ExpiresAt : value.ExpiresAt - store.Now);
        client.Writer.WriteInteger(milliseconds ? ttl : (ttl + 500) / 1000);
    }
}

/// <summary>Content equality for byte arrays (keys in hash sets).</summary>
internal sealed class ByteArrayComparer : IEqualityComparer<byte[]>
{
    public static ByteArrayComparer Instance { get; } = new();

    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj)
    {
        var hash = new HashCode();
        hash.AddBytes(obj);
        return hash.ToHashCode();
    }
}

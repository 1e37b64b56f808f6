using Estoraje.Resp;
using Estoraje.Server.Network;
using Estoraje.Storage;

namespace Estoraje.Server.Commands;

/// <summary>GET, SET and the rest of the string family.</summary>
internal static class StringCommands
{
    [Flags]
    private enum SetFlags
    {
        None = 0,
        Nx = 1,
        Xx = 2,
        Get = 4,
        KeepTtl = 8,
        Persist = 16,
        Expire = 32,
    }

    /// <summary>Where the amount of an expiry option is and what it means.</summary>
    private readonly record struct ExpiryOption(int Index, long UnitMs, bool Relative);

    public static void Get(ClientSession client, RespRequest request)
    {
        if (!TryReadString(client, request[1], out var value, out var found))
            return;
        if (found)
            client.Writer.WriteBulkString(value.Bytes);
        else
            client.Writer.WriteNull();
    }

    public static void Set(ClientSession client, RespRequest request)
    {
        if (!TryParseSetOptions(client, request, 3, allowSetOnly: true, out var flags, out var expiry) ||
            !TryResolveExpiry(client, request, expiry, out var expiresAt))
            return;
        SetGeneric(client, request[1], request[2], flags, expiresAt);
    }

    public static void SetNx(ClientSession client, RespRequest request)
    {
        var store = client.Store;
        using (store.Lock(request[1]))
        {
            if (store.Exists(request[1]))
            {
                client.Writer.WriteInteger(0);
                return;
            }

            Store(store, request[1], request[2], 0);
        }

        client.Writer.WriteInteger(1);
    }

    public static void SetEx(ClientSession client, RespRequest request) => SetWithTtl(client, request, 1000);

    public static void PSetEx(ClientSession client, RespRequest request) => SetWithTtl(client, request, 1);

    public static void GetSet(ClientSession client, RespRequest request) =>
        SetGeneric(client, request[1], request[2], SetFlags.Get, 0);

    public static void GetDel(ClientSession client, RespRequest request)
    {
        var store = client.Store;
        using (store.Lock(request[1]))
        {
            if (!TryReadString(client, request[1], out var value, out var found))
                return;
            if (!found)
            {
                client.Writer.WriteNull();
                return;
            }

            store.Remove(request[1]);
            client.Writer.WriteBulkString(value.Bytes);
        }
    }

    public static void GetEx(ClientSession client, RespRequest request)
    {
        if (!TryParseSetOptions(client, request, 2, allowSetOnly: false, out var flags, out var expiry))
            return;
        var store = client.Store;
        var key = request[1];
        using (store.Lock(key))
        {
            if (!TryReadString(client, key, out var value, out var found))
                return;
            if (!found)
            {
                client.Writer.WriteNull();
                return;
            }

            // Like Redis, the expiry amount is only checked once the key is found: a missing key is nil whatever it is.
            if (!TryResolveExpiry(client, request, expiry, out var expiresAt))
                return;
            if ((flags & SetFlags.Expire) != 0 && expiresAt <= store.Now)
                store.Remove(key);
            else if ((flags & SetFlags.Expire) != 0)
                store.SetExpiry(key, expiresAt);
            else if ((flags & SetFlags.Persist) != 0)
                store.SetExpiry(key, 0);
            client.Writer.WriteBulkString(value.Bytes);
        }
    }

    public static void MGet(ClientSession client, RespRequest request)
    {
        var store = client.Store;
        var writer = client.Writer;
        writer.WriteArrayHeader(request.Count - 1);
        for (var i = 1; i < request.Count; i++)
        {
            if (store.TryGet(request[i], out var value) && value.Kind == ValueKind.String)
                writer.WriteBulkString(value.Bytes);
            else
                writer.WriteNull();
        }
    }

    public static void MSet(ClientSession client, RespRequest request)
    {
        if (!HasPairsFrom(client, request, 1))
            return;

        var store = client.Store;
        using (store.Lock(KeyMask(store, request, 1, 2)))
        {
            for (var i = 1; i < request.Count; i += 2)
                Store(store, request[i], request[i + 1], 0);
        }

        client.Writer.WriteOk();
    }

    public static void MSetNx(ClientSession client, RespRequest request)
    {
        if (!HasPairsFrom(client, request, 1))
            return;

        var store = client.Store;
        using (store.Lock(KeyMask(store, request, 1, 2)))
        {
            for (var i = 1; i < request.Count; i += 2)
            {
                if (store.Exists(request[i]))
                {
                    client.Writer.WriteInteger(0);
                    return;
                }
            }

            for (var i = 1; i < request.Count; i += 2)
                Store(store, request[i], request[i + 1], 0);
        }

        client.Writer.WriteInteger(1);
    }

    public static void Append(ClientSession client, RespRequest request)
    {
        var store = client.Store;
        var key = request[1];
        int length;
        using (store.Lock(key))
        {
            if (!TryReadString(client, key, out var value, out var found))
                return;
            if (found && (long)value.Length + request[2].Length > client.Server.Options.ProtoMaxBulkLen)
            {
                client.Writer.WriteError(Errors.StringTooLong);
                return;
            }

            length = store.Append(key, request[2]);
        }

        client.Writer.WriteInteger(length);
    }

    public static void StrLen(ClientSession client, RespRequest request)
    {
        if (TryReadString(client, request[1], out var value, out _))
            client.Writer.WriteInteger(value.Length);
    }

    public static void GetRange(ClientSession client, RespRequest request)
    {
        if (!RespInteger.TryParse(request[2], out var start) || !RespInteger.TryParse(request[3], out var end))
        {
            client.Writer.WriteError(Errors.NotInteger);
            return;
        }

        if (!TryReadString(client, request[1], out var value, out _))
            return;

        // Redis 7's arithmetic, quirks included (both negative with start > end: empty).
        long length = value.Length;
        if (start < 0 && end < 0 && start > end)
        {
            client.Writer.WriteBulkString(default(ReadOnlySpan<byte>));
            return;
        }

        if (start < 0)
            start = length + start;
        if (end < 0)
            end = length + end;
        if (start < 0)
            start = 0;
        if (end < 0)
            end = 0;
        if (end >= length)
            end = length - 1;
        if (start > end || length == 0)
            client.Writer.WriteBulkString(default(ReadOnlySpan<byte>));
        else
            client.Writer.WriteBulkString(value.Bytes.Slice((int)start, (int)(end - start + 1)));
    }

    public static void SetRange(ClientSession client, RespRequest request)
    {
        if (!RespInteger.TryParse(request[2], out var offset))
        {
            client.Writer.WriteError(Errors.NotInteger);
            return;
        }

        if (offset < 0)
        {
            client.Writer.WriteError(Errors.OffsetOutOfRange);
            return;
        }

        var store = client.Store;
        var key = request[1];
        var patch = request[3];
        using (store.Lock(key))
        {
            if (!TryReadString(client, key, out var value, out var found))
                return;
            var length = found ? value.Length : 0;
            if (patch.IsEmpty)
            {
                client.Writer.WriteInteger(length);
                return;
            }

            // Written so that a huge offset cannot overflow past the check.
            if (offset > client.Server.Options.ProtoMaxBulkLen - patch.Length)
            {
                client.Writer.WriteError(Errors.StringTooLong);
                return;
            }

            // Copy on write: readers may still hold the old bytes.
            var size = (int)Math.Max(length, offset + patch.Length);
            var bytes = new byte[size];
            if (found)
                value.Bytes.CopyTo(bytes);
            patch.CopyTo(bytes.AsSpan((int)offset));
            store.SetString(key, bytes, size, found ? value.ExpiresAt : 0);
            client.Writer.WriteInteger(size);
        }
    }

    public static void Incr(ClientSession client, RespRequest request) => IncrementBy(client, request[1], 1);

    public static void Decr(ClientSession client, RespRequest request) => IncrementBy(client, request[1], -1);

    public static void IncrBy(ClientSession client, RespRequest request)
    {
        if (!RespInteger.TryParse(request[2], out var delta))
            client.Writer.WriteError(Errors.NotInteger);
        else
            IncrementBy(client, request[1], delta);
    }

    public static void DecrBy(ClientSession client, RespRequest request)
    {
        if (!RespInteger.TryParse(request[2], out var delta))
            client.Writer.WriteError(Errors.NotInteger);
        else if (delta == long.MinValue)
            client.Writer.WriteError("ERR decrement would overflow");
        else
            IncrementBy(client, request[1], -delta);
    }

    public static void IncrByFloat(ClientSession client, RespRequest request)
    {
        if (!Numbers.TryParseDouble(request[2], out var delta))
        {
            client.Writer.WriteError(Errors.NotFloat);
            return;
        }

        var store = client.Store;
        var key = request[1];
        using (store.Lock(key))
        {
            if (!TryReadString(client, key, out var value, out var found))
                return;
            double current = 0;
            if (found && !Numbers.TryParseDouble(value.Bytes, out current))
            {
                client.Writer.WriteError(Errors.NotFloat);
                return;
            }

            var result = current + delta;
            if (double.IsNaN(result) || double.IsInfinity(result))
            {
                client.Writer.WriteError(Errors.NaNOrInfinity);
                return;
            }

            var text = System.Text.Encoding.ASCII.GetBytes(Numbers.FormatHuman(result));
            store.SetString(key, text, text.Length, found ? value.ExpiresAt : 0);
            client.Writer.WriteBulkString(text);
        }
    }

    public static void Lcs(ClientSession client, RespRequest request)
    {
        var wantLength = false;
        var wantIndexes = false;
        var withMatchLength = false;
        long minMatchLength = 0;
        for (var i = 3; i < request.Count; i++)
        {
            if (request.Is(i, "LEN"u8))
            {
                wantLength = true;
            }
            else if (request.Is(i, "IDX"u8))
            {
                wantIndexes = true;
            }
            else if (request.Is(i, "WITHMATCHLEN"u8))
            {
                withMatchLength = true;
            }
            else if (request.Is(i, "MINMATCHLEN"u8) && i + 1 < request.Count)
            {
                if (!RespInteger.TryParse(request[++i], out minMatchLength))
                {
                    client.Writer.WriteError(Errors.NotInteger);
                    return;
                }

                minMatchLength = Math.Max(0, minMatchLength);
            }
            else
            {
                client.Writer.WriteError(Errors.Syntax);
                return;
            }
        }

        if (wantLength && wantIndexes)
        {
            client.Writer.WriteError("ERR If you want both the length and indexes, please just use IDX.");
            return;
        }

        var store = client.Store;
        StoredValue a, b;
        using (store.Lock(store.ShardMask(request[1]) | store.ShardMask(request[2])))
        {
            var foundA = store.TryGet(request[1], out a);
            var foundB = store.TryGet(request[2], out b);
            if ((foundA && a.Kind != ValueKind.String) || (foundB && b.Kind != ValueKind.String))
            {
                client.Writer.WriteError("ERR The specified keys must contain string values");
                return;
            }
        }

        Lcs(client, a.Kind == ValueKind.String ? a.Bytes : default, b.Kind == ValueKind.String ? b.Bytes : default,
            wantLength, wantIndexes, withMatchLength, minMatchLength);
    }

    private static void Lcs(ClientSession client, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, bool wantLength,
        bool wantIndexes, bool withMatchLength, long minMatchLength)
    {
        if ((long)(a.Length + 1) * (b.Length + 1) > 256L * 1024 * 1024)
        {
            client.Writer.WriteError("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
            return;
        }

        // Dynamic programming table, as Redis: dp[i, j] = LCS length of a[..i] and b[..j].
        var width = b.Length + 1;
        var dp = new int[(a.Length + 1) * width];
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                dp[i * width + j] = a[i - 1] == b[j - 1]
                    ? dp[(i - 1) * width + j - 1] + 1
                    : Math.Max(dp[(i - 1) * width + j], dp[i * width + j - 1]);
            }
        }

        var total = dp[a.Length * width + b.Length];
        if (wantLength)
        {
            client.Writer.WriteInteger(total);
            return;
        }

        // Walk back from the end, collecting the common string and (for IDX) the matching ranges.
        var common = new byte[total];
        var ranges = new List<(int AStart, int AEnd, int BStart, int BEnd)>();
        int x = a.Length, y = b.Length, k = total;
        int aStart = -1, aEnd = -1, bStart = -1, bEnd = -1;
        while (x > 0 && y > 0)
        {
            var emitRange = false;
            if (a[x - 1] == b[y - 1])
            {
                common[--k] = a[x - 1];
                if (aStart == -1)
                {
                    aStart = aEnd = x - 1;
                    bStart = bEnd = y - 1;
                }
                else if (aStart == x && bStart == y)
                {
                    aStart--;
                    bStart--;
                }
                else
                {
                    emitRange = true;
                }

                if (aStart == 0 || bStart == 0)
                    emitRange = true;
                x--;
                y--;
            }
            else
            {
                if (dp[(x - 1) * width + y] > dp[x * width + y - 1])
                    x--;
                else
                    y--;
                if (aStart != -1)
                    emitRange = true;
            }

            if (emitRange)
            {
                if (aStart != -1 && aEnd - aStart + 1 >= minMatchLength)
                    ranges.Add((aStart, aEnd, bStart, bEnd));
                aStart = -1;
            }
        }

        if (!wantIndexes)
        {
            client.Writer.WriteBulkString(common);
            return;
        }

        var writer = client.Writer;
        writer.WriteMapHeader(2);
        writer.WriteBulkString("matches");
        writer.WriteArrayHeader(ranges.Count);
        foreach (var r in ranges)
        {
            writer.WriteArrayHeader(withMatchLength ? 3 : 2);
            writer.WriteArrayHeader(2);
            writer.WriteInteger(r.AStart);
            writer.WriteInteger(r.AEnd);
            writer.WriteArrayHeader(2);
            writer.WriteInteger(r.BStart);
            writer.WriteInteger(r.BEnd);
            if (withMatchLength)
                writer.WriteInteger(r.AEnd - r.AStart + 1);
        }

        writer.WriteBulkString("len");
        writer.WriteInteger(total);
    }

    /// <summary>Reads a string key: false (after writing WRONGTYPE) when the key holds another type.</summary>
    internal static bool TryReadString(ClientSession client, ReadOnlySpan<byte> key, out StoredValue value, out bool found) =>
        Values.TryRead(client, key, ValueKind.String, out value, out found);

    /// <summary>The shard mask of the keys at <paramref name="first"/>, first + step, ...</summary>
    internal static ulong KeyMask(IKeyValueStore store, RespRequest request, int first, int step)
    {
        ulong mask = 0;
        for (var i = first; i < request.Count; i += step)
            mask |= store.ShardMask(request[i]);
        return mask;
    }

    /// <summary>
    /// Whether the arguments from <paramref name="first"/> on come in pairs (MSET and MSETNX: keys and values; HSET
    /// and HMSET: fields and values); an odd count is an arity error of the running command, as Redis reports it.
    /// </summary>
    internal static bool HasPairsFrom(ClientSession client, RespRequest request, int first)
    {
        if ((request.Count - first) % 2 == 0)
            return true;
        client.Writer.WriteError(Errors.WrongArity(client.LastCommand));
        return false;
    }

    private static void Store(IKeyValueStore store, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expiresAt) =>
        store.SetString(key, value.ToArray(), value.Length, expiresAt);

    private static void SetWithTtl(ClientSession client, RespRequest request, long unitMs)
    {
        if (!RespInteger.TryParse(request[2], out var ttl))
        {
            client.Writer.WriteError(Errors.NotInteger);
            return;
        }

        if (!TryAbsoluteExpiry(client, ttl, unitMs, relative: true, out var expiresAt))
            return;
        SetGeneric(client, request[1], request[3], SetFlags.Expire, expiresAt);
    }

    private static void SetGeneric(ClientSession client, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, SetFlags flags, long expiresAt)
    {
        var store = client.Store;
        if ((flags & ~SetFlags.Expire) == SetFlags.None)
        {
            // Plain SET (the common case): nothing to read first, one store access.
            Store(store, key, value, expiresAt);
            client.Writer.WriteOk();
            return;
        }

        var get = (flags & SetFlags.Get) != 0;
        using (store.Lock(key))
        {
            StoredValue old = default;
            bool exists;
            if (get)
            {
                if (!TryReadString(client, key, out old, out exists))
                    return;
            }
            else
            {
                exists = store.TryGet(key, out old, touch: false);
            }

            var blocked = ((flags & SetFlags.Nx) != 0 && exists) || ((flags & SetFlags.Xx) != 0 && !exists);
            if (!blocked)
            {
                if ((flags & SetFlags.KeepTtl) != 0)
                    expiresAt = exists ? old.ExpiresAt : 0;
                Store(store, key, value, expiresAt);
            }

            if (get)
            {
                if (exists)
                    client.Writer.WriteBulkString(old.Bytes);
                else
                    client.Writer.WriteNull();
            }
            else if (blocked)
            {
                client.Writer.WriteNull();
            }
            else
            {
                client.Writer.WriteOk();
            }
        }
    }

    // Redis's parseExtendedStringArgumentsOrReply, for SET (allowSetOnly) and GETEX. An option may be given
    // twice (for an expiry, the last amount wins) but never with one it conflicts with: EX with PX, EX with
    // KEEPTTL or PERSIST, NX with XX.
    private static bool TryParseSetOptions(ClientSession client, RespRequest request, int first, bool allowSetOnly,
        out SetFlags flags, out ExpiryOption expiry)
    {
        flags = SetFlags.None;
        expiry = new ExpiryOption(-1, 0, false);
        var expireIndex = -1;
        long unitMs = 0;
        var relative = false;
        for (var i = first; i < request.Count; i++)
        {
            var hasNext = i + 1 < request.Count;
            if (allowSetOnly && request.Is(i, "NX"u8) && (flags & SetFlags.Xx) == 0)
            {
                flags |= SetFlags.Nx;
            }
            else if (allowSetOnly && request.Is(i, "XX"u8) && (flags & SetFlags.Nx) == 0)
            {
                flags |= SetFlags.Xx;
            }
            else if (allowSetOnly && request.Is(i, "GET"u8))
            {
                flags |= SetFlags.Get;
            }
            else if (allowSetOnly && request.Is(i, "KEEPTTL"u8) && (flags & (SetFlags.Expire | SetFlags.Persist)) == 0)
            {
                flags |= SetFlags.KeepTtl;
            }
            else if (!allowSetOnly && request.Is(i, "PERSIST"u8) && (flags & (SetFlags.Expire | SetFlags.KeepTtl)) == 0)
            {
                flags |= SetFlags.Persist;
            }
            else if (hasNext && (flags & (SetFlags.KeepTtl | SetFlags.Persist)) == 0 &&
                     TryExpiryUnit(request, i, out var unit, out var isRelative) &&
                     ((flags & SetFlags.Expire) == 0 || (unit == unitMs && isRelative == relative)))
            {
                flags |= SetFlags.Expire;
                unitMs = unit;
                relative = isRelative;
                expireIndex = ++i;
            }
            else
            {
                client.Writer.WriteError(Errors.Syntax);
                return false;
            }
        }

        expiry = new ExpiryOption(expireIndex, unitMs, relative);
        return true;
    }

    // The amount of an EX/PX/EXAT/PXAT option as an absolute time (0 when there is none), or false after the error.
    private static bool TryResolveExpiry(ClientSession client, RespRequest request, ExpiryOption expiry, out long expiresAt)
    {
        expiresAt = 0;
        if (expiry.Index < 0)
            return true;
        if (!RespInteger.TryParse(request[expiry.Index], out var amount))
        {
            client.Writer.WriteError(Errors.NotInteger);
            return false;
        }

        return TryAbsoluteExpiry(client, amount, expiry.UnitMs, expiry.Relative, out expiresAt);
    }

    private static bool TryExpiryUnit(RespRequest request, int i, out long unitMs, out bool relative)
    {
        (unitMs, relative) = request[i] switch
        {
            var a when System.Text.Ascii.EqualsIgnoreCase(a, "EX"u8) => (1000L, true),
            var a when System.Text.Ascii.EqualsIgnoreCase(a, "PX"u8) => (1L, true),
            var a when System.Text.Ascii.EqualsIgnoreCase(a, "EXAT"u8) => (1000L, false),
            var a when System.Text.Ascii.EqualsIgnoreCase(a, "PXAT"u8) => (1L, false),
            _ => (0L, false),
        };
        return unitMs != 0;
    }

    // Redis's getExpireMillisecondsOrReply: positive amounts only, no overflow.
    private static bool TryAbsoluteExpiry(ClientSession client, long amount, long unitMs, bool relative, out long expiresAt)
    {
        expiresAt = 0;
        if (amount <= 0 || (unitMs == 1000 && amount > long.MaxValue / 1000))
        {
            client.Writer.WriteError(Errors.InvalidExpireTime(client.LastCommand));
            return false;
        }

        expiresAt = amount * unitMs;
        if (relative)
        {
            var now = client.Store.Now;
            expiresAt = expiresAt > long.MaxValue - now ? -1 : expiresAt + now;
        }

        if (expiresAt <= 0)
        {
            client.Writer.WriteError(Errors.InvalidExpireTime(client.LastCommand));
            return false;
        }

        return true;
    }

    private static void IncrementBy(ClientSession client, ReadOnlySpan<byte> key, long delta)
    {
        var store = client.Store;
        using (store.Lock(key))
        {
            if (!TryReadString(client, key, out var value, out var found))
                return;
            long current = 0;
            if (found && !RespInteger.TryParse(value.Bytes, out current))
            {
                client.Writer.WriteError(Errors.NotInteger);
                return;
            }

            if ((delta < 0 && current < 0 && delta < long.MinValue - current) ||
                (delta > 0 && current > 0 && delta > long.MaxValue - current))
            {
                client.Writer.WriteError(Errors.Overflow);
                return;
            }

            var result = current + delta;
            var text = new byte[20];
            var n = RespWriter.FormatInt64(result, text);
            store.SetString(key, text, n, found ? value.ExpiresAt : 0);
            client.Writer.WriteInteger(result);
        }
    }
}

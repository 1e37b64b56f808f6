using System.Globalization;
using Estoraje.Resp;
using static Estoraje.Server.Scripting.LuaApi;

namespace Estoraje.Server.Scripting;

/// <summary>
/// Redis's conversions between Lua values and RESP: a script's return value into the client's reply, and a
/// command's reply into the value redis.call returns. Both read or push raw table fields only, so no metamethod
/// (a script's code) runs and nothing can raise a Lua error while managed code is on the stack.
/// </summary>
internal static unsafe class LuaReplies
{
    /// <summary>
    /// Nesting at which Redis (Lua 5.1's C stack of 8000 slots) gives up converting a script's reply: the
    /// value there becomes an error, and a table holding itself therefore ends after this many arrays.
    /// </summary>
    public const int MaxDepth = 7995;

    private const string StackLimitError = "ERR reached lua stack limit";

    private enum FrameKind
    {
        Array,
        Map,
        MapValue,
        Set,
    }

    private struct Frame
    {
        public FrameKind Kind;
        public int Table;
        public long Next;
        public long Count;
    }

    /// <summary>
    /// Writes the value on top of <paramref name="state"/>'s stack as Redis replies with a script's result, and pops it.
    /// <paramref name="scriptResp"/> is the protocol the script chose with redis.setresp (booleans follow it).
    /// </summary>
    public static void Write(nint state, RespWriter writer, int scriptResp)
    {
        // Iterative, the Lua stack holding the tables being walked: nesting costs no managed stack.
        var frames = new Stack<Frame>();
        WriteTop(state, writer, scriptResp, frames);
        while (frames.Count > 0)
        {
            var frame = frames.Pop();
            switch (frame.Kind)
            {
                case FrameKind.Array:
                    if (frame.Next > frame.Count)
                    {
                        Pop(state, 1);
                        continue;
                    }

                    _ = lua_checkstack(state, 4);
                    _ = lua_rawgeti(state, frame.Table, frame.Next++);
                    frames.Push(frame);
                    WriteTop(state, writer, scriptResp, frames);
                    break;
                case FrameKind.Map:
                    _ = lua_checkstack(state, 4);
                    if (lua_next(state, frame.Table) == 0)
                    {
                        Pop(state, 1);
                        continue;
                    }

                    // Stack: table, key, value. The key is written from a copy, then the value (MapValue).
                    lua_pushvalue(state, -2);
                    frames.Push(frame with { Kind = FrameKind.MapValue });
                    WriteTop(state, writer, scriptResp, frames);
                    break;
                case FrameKind.MapValue:
                    frames.Push(frame with { Kind = FrameKind.Map });
                    WriteTop(state, writer, scriptResp, frames);
                    break;
                case FrameKind.Set:
                    _ = lua_checkstack(state, 4);
                    if (lua_next(state, frame.Table) == 0)
                    {
                        Pop(state, 1);
                        continue;
                    }

                    Pop(state, 1);
                    lua_pushvalue(state, -1);
                    frames.Push(frame);
                    WriteTop(state, writer, scriptResp, frames);
                    break;
            }
        }
    }

    // Writes the top value, or starts walking it when it is an aggregate (its frame then pops it when done).
    private static void WriteTop(nint state, RespWriter writer, int scriptResp, Stack<Frame> frames)
    {
        if (frames.Count >= MaxDepth)
        {
            writer.WriteError(StackLimitError);
            Pop(state, 1);
            return;
        }

        var table = lua_gettop(state);
        switch (lua_type(state, -1))
        {
            case TypeString:
                writer.WriteBulkString(ToBytes(state, -1));
                break;
            case TypeBoolean:
                var value = lua_toboolean(state, -1) != 0;
                if (scriptResp == 2)
                {
                    if (value)
                        writer.WriteInteger(1);
                    else
                        writer.WriteNull();
                }
                else
                {
                    writer.WriteBoolean(value);
                }

                break;
            case TypeNumber:
                writer.WriteInteger(ToInteger(state, -1));
                break;
            case TypeTable:
                if (WriteSpecialTable(state, writer, table, frames))
                    return;
                var count = ArrayLength(state, table);
                writer.WriteArrayHeader(checked((int)count));
                frames.Push(new Frame { Kind = FrameKind.Array, Table = table, Next = 1, Count = count });
                return;
            default:
                writer.WriteNull();
                break;
        }

        Pop(state, 1);
    }

    // {err=...}, {ok=...}, {double=...}, {big_number=...}, {verbatim_string=...}, {map=...}, {set=...}: true when
    // the table was one of them (written, or its walk started).
    private static bool WriteSpecialTable(nint state, RespWriter writer, int table, Stack<Frame> frames)
    {
        _ = lua_checkstack(state, 6);
        if (Field(state, table, "err"u8) == TypeString)
        {
            writer.WriteError(ErrorText(ToBytes(state, -1)));
            Pop(state, 2);
            return true;
        }

        Pop(state, 1);
        if (Field(state, table, "ok"u8) == TypeString)
        {
            writer.WriteSimpleString(Sanitize(ToBytes(state, -1)));
            Pop(state, 2);
            return true;
        }

        Pop(state, 1);
        if (Field(state, table, "double"u8) == TypeNumber)
        {
            writer.WriteDouble(lua_tonumberx(state, -1, out _));
            Pop(state, 2);
            return true;
        }

        Pop(state, 1);
        if (Field(state, table, "big_number"u8) == TypeString)
        {
            writer.WriteBigNumber(Sanitize(ToBytes(state, -1)));
            Pop(state, 2);
            return true;
        }

        Pop(state, 1);
        if (Field(state, table, "verbatim_string"u8) == TypeTable)
        {
            var verbatim = lua_gettop(state);
            if (Field(state, verbatim, "format"u8) == TypeString && Field(state, verbatim, "string"u8) == TypeString)
            {
                var format = System.Text.Encoding.UTF8.GetString(ToBytes(state, -2)).PadRight(3)[..3];
                writer.WriteVerbatimString(format, ToBytes(state, -1));
                Pop(state, 4);
                return true;
            }

            lua_settop(state, verbatim);
        }

        Pop(state, 1);
        if (Field(state, table, "map"u8) == TypeTable)
        {
            // The walk continues on the map itself, put where the outer table was (so the walk's end pops both).
            lua_copy(state, -1, table);
            Pop(state, 1);
            writer.WriteMapHeader(checked((int)PairCount(state, table)));
            lua_pushnil(state);
            frames.Push(new Frame { Kind = FrameKind.Map, Table = table });
            return true;
        }

        Pop(state, 1);
        if (Field(state, table, "set"u8) == TypeTable)
        {
            lua_copy(state, -1, table);
            Pop(state, 1);
            writer.WriteSetHeader(checked((int)PairCount(state, table)));
            lua_pushnil(state);
            frames.Push(new Frame { Kind = FrameKind.Set, Table = table });
            return true;
        }

        Pop(state, 1);
        return false;
    }

    /// <summary>A Lua number as Redis replies with it: <c>(long long)</c> of the double (x86: out of range is the minimum).</summary>
    public static long ToInteger(nint state, int index)
    {
        if (lua_isinteger(state, index) != 0)
            return lua_tointegerx(state, index, out _);
        return Truncate(lua_tonumberx(state, index, out _));
    }

    /// <summary>C's <c>(long long)</c> of a double on x86-64: toward zero; NaN and out of range give the minimum.</summary>
    public static long Truncate(double value) =>
        double.IsNaN(value) || value >= 9223372036854775808.0 || value < -9223372036854775808.0 ? long.MinValue : (long)value;

    /// <summary>
    /// A Lua number as redis.call passes it to a command: C's <c>%.17g</c> of the double (0.1 is
    /// 0.10000000000000001, 1e20 is 1e+20), as Redis formats numbers it cannot pass as text.
    /// </summary>
    public static string FormatArgument(double value)
    {
        if (double.IsNaN(value))
            return double.IsNegative(value) ? "-nan" : "nan";
        if (double.IsInfinity(value))
            return value > 0 ? "inf" : "-inf";
        var text = value.ToString("G17", CultureInfo.InvariantCulture);
        var e = text.IndexOf('E', StringComparison.Ordinal);
        if (e < 0)
            return text;
        // .NET writes E+20 and E-05; C writes e+20 and e-05 (at least two exponent digits, as here).
        var exponent = text[(e + 1)..];
        var sign = exponent[0];
        var digits = exponent[1..].TrimStart('0').PadLeft(2, '0');
        return text[..e] + "e" + sign + digits;
    }

    /// <summary>Pushes a command's reply (RESP2, or RESP3 after redis.setresp(3)) as Redis gives it to a script.</summary>
    /// <returns>Whether the reply is an error (redis.call then raises it).</returns>
    public static bool Push(nint state, ReadOnlySpan<byte> reply)
    {
        var position = 0;
        var isError = reply.Length > 0 && reply[0] == (byte)'-';
        PushValue(state, reply, ref position, depth: 0);
        return isError;
    }

    /// <summary>Pushes <c>{err = "CODE message"}</c>: a message given with its code keeps it, any other gets ERR.</summary>
    public static void PushError(nint state, ReadOnlySpan<byte> message)
    {
        _ = lua_checkstack(state, 3);
        lua_createtable(state, 0, 1);
        PushBytes(state, "err"u8);
        PushBytes(state, ErrorTableText(message));
        lua_rawset(state, -3);
    }

    // luaPushErrorBuff: "-CODE rest" → "CODE rest", "-WORD" → "ERR WORD", "text" → "ERR text"; line breaks trimmed.
    private static byte[] ErrorTableText(ReadOnlySpan<byte> message)
    {
        ReadOnlySpan<byte> code = "ERR"u8;
        var rest = message;
        if (!message.IsEmpty && message[0] == (byte)'-')
        {
            var space = message.IndexOf((byte)' ');
            if (space < 0)
            {
                rest = message[1..];
            }
            else
            {
                code = message[1..space];
                rest = message[(space + 1)..];
            }
        }

        rest = rest.Trim("\r\n"u8);
        var text = new byte[code.Length + 1 + rest.Length];
        code.CopyTo(text);
        text[code.Length] = (byte)' ';
        rest.CopyTo(text.AsSpan(code.Length + 1));
        return text;
    }

    private static void PushValue(nint state, ReadOnlySpan<byte> reply, ref int position, int depth)
    {
        if (depth > 512)
            throw new InvalidDataException("A command's reply nests too deeply to convert.");
        _ = lua_checkstack(state, 6);
        var type = reply[position];
        var lineEnd = reply[position..].IndexOf("\r\n"u8) + position;
        var line = reply[(position + 1)..lineEnd];
        position = lineEnd + 2;
        switch (type)
        {
            case (byte)'+':
                PushField(state, "ok"u8, line);
                break;
            case (byte)'-':
                PushError(state, reply[(lineEnd - line.Length - 1)..lineEnd]);
                break;
            case (byte)':':
                lua_pushinteger(state, long.Parse(line, CultureInfo.InvariantCulture));
                break;
            case (byte)'$':
            {
                var length = int.Parse(line, CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    lua_pushboolean(state, 0);
                    break;
                }

                PushBytes(state, reply.Slice(position, length));
                position += length + 2;
                break;
            }

            case (byte)'*' or (byte)'>':
            {
                var count = int.Parse(line, CultureInfo.InvariantCulture);
                if (count < 0)
                {
                    lua_pushboolean(state, 0);
                    break;
                }

                lua_createtable(state, count, 0);
                for (var i = 1; i <= count; i++)
                {
                    PushValue(state, reply, ref position, depth + 1);
                    lua_rawseti(state, -2, i);
                }

                break;
            }

            case (byte)'%' or (byte)'~':
            {
                var count = int.Parse(line, CultureInfo.InvariantCulture);
                lua_createtable(state, 0, 1);
                PushBytes(state, type == (byte)'%' ? "map"u8 : "set"u8);
                lua_createtable(state, 0, count);
                for (var i = 0; i < count; i++)
                {
                    PushValue(state, reply, ref position, depth + 1);
                    if (type == (byte)'%')
                        PushValue(state, reply, ref position, depth + 1);
                    else
                        lua_pushboolean(state, 1);
                    SetUnlessNilKey(state);
                }

                lua_rawset(state, -3);
                break;
            }

            case (byte)'_':
                lua_pushnil(state);
                break;
            case (byte)'#':
                lua_pushboolean(state, line.SequenceEqual("t"u8) ? 1 : 0);
                break;
            case (byte)',':
                lua_createtable(state, 0, 1);
                PushBytes(state, "double"u8);
                lua_pushnumber(state, ParseDouble(line));
                lua_rawset(state, -3);
                break;
            case (byte)'(':
                PushField(state, "big_number"u8, line);
                break;
            case (byte)'=':
            {
                var length = int.Parse(line, CultureInfo.InvariantCulture);
                var body = reply.Slice(position, length);
                position += length + 2;
                lua_createtable(state, 0, 1);
                PushBytes(state, "verbatim_string"u8);
                lua_createtable(state, 0, 2);
                PushBytes(state, "string"u8);
                PushBytes(state, body[4..]);
                lua_rawset(state, -3);
                PushBytes(state, "format"u8);
                PushBytes(state, body[..3]);
                lua_rawset(state, -3);
                lua_rawset(state, -3);
                break;
            }

            case (byte)'|':
            {
                // Attributes are not shown to scripts: skip them, then read the value they describe.
                var pairs = int.Parse(line, CultureInfo.InvariantCulture);
                for (var i = 0; i < pairs * 2; i++)
                {
                    PushValue(state, reply, ref position, depth + 1);
                    Pop(state, 1);
                }

                PushValue(state, reply, ref position, depth);
                break;
            }

            default:
                throw new InvalidDataException($"Unexpected reply type '{(char)type}'.");
        }
    }

    // t[k] = v with the key and value on top, unless the key is nil or NaN (a raw set would raise).
    private static void SetUnlessNilKey(nint state)
    {
        var keyType = lua_type(state, -2);
        if (keyType == TypeNil || (keyType == TypeNumber && lua_isinteger(state, -2) == 0 && double.IsNaN(lua_tonumberx(state, -2, out _))))
        {
            Pop(state, 2);
            return;
        }

        lua_rawset(state, -3);
    }

    private static double ParseDouble(ReadOnlySpan<byte> text)
    {
        if (text.SequenceEqual("inf"u8))
            return double.PositiveInfinity;
        if (text.SequenceEqual("-inf"u8))
            return double.NegativeInfinity;
        if (text.SequenceEqual("nan"u8))
            return double.NaN;
        return double.Parse(text, CultureInfo.InvariantCulture);
    }

    private static void PushField(nint state, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        lua_createtable(state, 0, 1);
        PushBytes(state, name);
        PushBytes(state, value);
        lua_rawset(state, -3);
    }

    // Pushes table[name] (raw) and returns its type.
    private static int Field(nint state, int table, ReadOnlySpan<byte> name)
    {
        PushBytes(state, name);
        return lua_rawget(state, table);
    }

    // t[1], t[2]... up to the first nil, as Redis converts a table to an array.
    private static long ArrayLength(nint state, int table)
    {
        long count = 0;
        while (lua_rawgeti(state, table, count + 1) != TypeNil)
        {
            Pop(state, 1);
            count++;
        }

        Pop(state, 1);
        return count;
    }

    private static long PairCount(nint state, int table)
    {
        long count = 0;
        lua_pushnil(state);
        while (lua_next(state, table) != 0)
        {
            Pop(state, 1);
            count++;
        }

        return count;
    }

    /// <summary>An error reply's text: line breaks become spaces, as Redis's addReplyErrorFormat makes them.</summary>
    public static string ErrorText(ReadOnlySpan<byte> message)
    {
        var text = System.Text.Encoding.UTF8.GetString(message.TrimEnd("\r\n"u8));
        return text.Replace('\r', ' ').Replace('\n', ' ');
    }

    private static byte[] Sanitize(ReadOnlySpan<byte> text)
    {
        var copy = text.ToArray();
        for (var i = 0; i < copy.Length; i++)
        {
            if (copy[i] is (byte)'\r' or (byte)'\n')
                copy[i] = (byte)' ';
        }

        return copy;
    }
}

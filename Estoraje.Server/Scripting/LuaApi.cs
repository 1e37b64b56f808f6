using System.Runtime.InteropServices;

namespace Estoraje.Server.Scripting;

/// <summary>
/// The few functions of Lua 5.4's C API the scripting engine calls, over the native library the KeraLua package
/// ships (<c>liblua54</c>). Declared here rather than used through KeraLua's managed wrapper so that strings travel
/// as spans, callbacks are plain function pointers, and no wrapper object is made per call or per coroutine.
/// </summary>
/// <remarks>
/// Lua raises errors with <c>longjmp</c>, which must never cross a managed frame. So managed code calls only
/// functions that cannot raise (type checks, raw table access with valid keys, pushes while the memory cap is
/// lifted), and the functions Lua calls back (redis.call, the hook, the allocator) report failures by returning
/// values, never by raising: the sandbox's Lua code raises them.
/// </remarks>
internal static unsafe partial class LuaApi
{
    private const string Library = "lua54";

    public const int RegistryIndex = -1_000_000 - 1000;
    public const int MultipleResults = -1;

    public const int Ok = 0;
    public const int Yield = 1;
    public const int ErrorRun = 2;
    public const int ErrorSyntax = 3;
    public const int ErrorMemory = 4;

    public const int TypeNone = -1;
    public const int TypeNil = 0;
    public const int TypeBoolean = 1;
    public const int TypeNumber = 3;
    public const int TypeString = 4;
    public const int TypeTable = 5;
    public const int TypeFunction = 6;

    public const int MaskCount = 1 << 3;
    public const int GcCollect = 2;
    public const int GcCount = 3;
    public const int GcStep = 5;

    [LibraryImport(Library)]
    public static partial nint lua_newstate(delegate* unmanaged[Cdecl]<nint, nint, nuint, nuint, nint> allocator, nint userData);

    [LibraryImport(Library)]
    public static partial void lua_close(nint state);

    [LibraryImport(Library)]
    public static partial void luaL_openlibs(nint state);

    [LibraryImport(Library)]
    public static partial nint lua_newthread(nint state);

    [LibraryImport(Library)]
    public static partial int lua_resetthread(nint state);

    [LibraryImport(Library)]
    public static partial int lua_resume(nint state, nint from, int arguments, out int results);

    [LibraryImport(Library)]
    public static partial int lua_yieldk(nint state, int results, nint context, nint continuation);

    [LibraryImport(Library)]
    public static partial int lua_isyieldable(nint state);

    [LibraryImport(Library)]
    public static partial void lua_sethook(nint state, delegate* unmanaged[Cdecl]<nint, nint, void> hook, int mask, int count);

    [LibraryImport(Library)]
    public static partial int lua_getinfo(nint state, byte* what, nint debug);

    [LibraryImport(Library)]
    public static partial int luaL_loadbufferx(nint state, byte* buffer, nuint size, byte* name, byte* mode);

    [LibraryImport(Library)]
    public static partial int lua_pcallk(nint state, int arguments, int results, int handler, nint context, nint continuation);

    [LibraryImport(Library)]
    public static partial int lua_gc(nint state, int what, int data);

    [LibraryImport(Library)]
    public static partial int lua_gettop(nint state);

    [LibraryImport(Library)]
    public static partial void lua_settop(nint state, int index);

    [LibraryImport(Library)]
    public static partial void lua_pushvalue(nint state, int index);

    [LibraryImport(Library)]
    public static partial void lua_copy(nint state, int from, int to);

    [LibraryImport(Library)]
    public static partial int lua_checkstack(nint state, int extra);

    [LibraryImport(Library)]
    public static partial int lua_type(nint state, int index);

    [LibraryImport(Library)]
    public static partial int lua_isinteger(nint state, int index);

    [LibraryImport(Library)]
    public static partial int lua_isstring(nint state, int index);

    [LibraryImport(Library)]
    public static partial byte* lua_tolstring(nint state, int index, out nuint length);

    [LibraryImport(Library)]
    public static partial double lua_tonumberx(nint state, int index, out int isNumber);

    [LibraryImport(Library)]
    public static partial long lua_tointegerx(nint state, int index, out int isNumber);

    [LibraryImport(Library)]
    public static partial int lua_toboolean(nint state, int index);

    [LibraryImport(Library)]
    public static partial void lua_pushnil(nint state);

    [LibraryImport(Library)]
    public static partial void lua_pushinteger(nint state, long value);

    [LibraryImport(Library)]
    public static partial void lua_pushnumber(nint state, double value);

    [LibraryImport(Library)]
    public static partial void lua_pushlightuserdata(nint state, nint pointer);

    [LibraryImport(Library)]
    public static partial void lua_pushboolean(nint state, int value);

    [LibraryImport(Library)]
    public static partial byte* lua_pushlstring(nint state, byte* text, nuint length);

    [LibraryImport(Library)]
    public static partial void lua_pushcclosure(nint state, delegate* unmanaged[Cdecl]<nint, int> function, int upvalues);

    [LibraryImport(Library)]
    public static partial void lua_createtable(nint state, int arrayHint, int recordHint);

    [LibraryImport(Library)]
    public static partial int lua_rawget(nint state, int index);

    [LibraryImport(Library)]
    public static partial int lua_rawgeti(nint state, int index, long key);

    [LibraryImport(Library)]
    public static partial void lua_rawset(nint state, int index);

    [LibraryImport(Library)]
    public static partial void lua_rawseti(nint state, int index, long key);

    [LibraryImport(Library)]
    public static partial int lua_next(nint state, int index);

    public static void Pop(nint state, int count) => lua_settop(state, -count - 1);

    /// <summary>Pushes bytes as a Lua string.</summary>
    public static void PushBytes(nint state, ReadOnlySpan<byte> text)
    {
        fixed (byte* p = text)
            lua_pushlstring(state, p, (nuint)text.Length);
    }

    /// <summary>The string at <paramref name="index"/> (which must be a string: numbers would be converted in place).</summary>
    public static ReadOnlySpan<byte> ToBytes(nint state, int index)
    {
        var p = lua_tolstring(state, index, out var length);
        return p is null ? default : new ReadOnlySpan<byte>(p, checked((int)length));
    }
}

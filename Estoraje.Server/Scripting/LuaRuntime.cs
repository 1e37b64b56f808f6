using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Estoraje.Resp;
using static Estoraje.Server.Scripting.LuaApi;

namespace Estoraje.Server.Scripting;

/// <summary>How a script run ended.</summary>
internal enum ScriptOutcome
{
    /// <summary>It returned, or raised an error (both are replies).</summary>
    Finished,

    /// <summary>SCRIPT KILL stopped it.</summary>
    Killed,

    /// <summary>It yielded at its top level, or Lua itself failed outside the script's protected call.</summary>
    Failed,
}

/// <summary>
/// One Lua 5.4 state dressed as Redis's scripting environment (see Sandbox.lua), with the scripts it compiled so
/// far. Used by one script at a time (the engine pools them). A script runs in a coroutine of the state, so that
/// SCRIPT KILL can stop it from the count hook by yielding, which unwinds Lua without a <c>longjmp</c> through
/// managed code.
/// </summary>
internal sealed unsafe class LuaRuntime : IDisposable
{
    private const long RunnerSlot = 1_000_001;
    private const long GlobalsSlot = 1_000_002;
    private const long LoadSlot = 1_000_003;
    private const long ScriptsSlot = 1_000_004;
    private const long ThreadSlot = 1_000_005;

    private static ReadOnlySpan<byte> TailCallGuard => "local __redis_frame <close> = nil; "u8;

    // Offset of currentline in lua_Debug on 64-bit platforms (event, name, namewhat, what, source, srclen).
    private const int DebugCurrentLineOffset = 48;

    [ThreadStatic]
    private static LuaRuntime? t_current;

    private static long s_memory;

    private readonly ScriptEngine _engine;
    private readonly nint _state;
    private readonly nint _thread;
    private readonly ArrayBufferWriter<byte> _request = new();
    private readonly ArrayBufferWriter<byte> _reply = new();
    private readonly RequestParser _parser = new();
    private ReadOnlySequence<byte> _pending;
    private GCHandle _self;
    private bool _enforceMemory;
    private ScriptRun? _run;
    private int _status;
    private int _results;
    private bool _disposed;

    public LuaRuntime(ScriptEngine engine)
    {
        _engine = engine;
        _self = GCHandle.Alloc(this);
        _state = lua_newstate(&Allocate, GCHandle.ToIntPtr(_self));
        if (_state == 0)
            throw new InsufficientMemoryException("Lua could not create a state.");
        try
        {
            luaL_openlibs(_state);
            LoadSandbox();
            _thread = lua_newthread(_state);
            // The registry keeps the coroutine alive; the hook is inherited by coroutines scripts create.
            lua_rawseti(_state, RegistryIndex, ThreadSlot);
            lua_sethook(_thread, &Hook, MaskCount, 100_000);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Bytes every Lua state holds together.</summary>
    public static long MemoryInUse => Interlocked.Read(ref s_memory);

    /// <summary>
    /// Bytes all Lua states may hold together while scripts run: past it an allocation fails and the script gets
    /// Lua's "not enough memory" error, instead of the process being killed for its memory.
    /// </summary>
    public static long MemoryLimit { get; set; } = 512L << 20;

    /// <summary>The generation of the engine's script cache the compiled functions belong to (SCRIPT FLUSH).</summary>
    public long Generation { get; private set; }

    /// <summary>Forgets every compiled script (after SCRIPT FLUSH).</summary>
    public void Forget(long generation)
    {
        lua_createtable(_state, 0, 0);
        lua_rawseti(_state, RegistryIndex, ScriptsSlot);
        _ = lua_gc(_state, GcCollect, 0);
        Generation = generation;
    }

    /// <summary>Compiles <paramref name="body"/> as the script <paramref name="sha"/> unless already done; the error text when it does not compile.</summary>
    public string? Compile(string sha, ReadOnlySpan<byte> body)
    {
        if (IsCompiled(sha))
            return null;
        lua_settop(_state, 0);
        _ = lua_rawgeti(_state, RegistryIndex, LoadSlot);
        // A to-be-closed local (nil: nothing to close) keeps Lua 5.4 from compiling the chunk's "return f()" into a
        // tail call, which would drop the script's frame: errors raised by redis.call then still name the script
        // line, as in Lua 5.1. On the first line, so line numbers do not move.
        var code = new byte[TailCallGuard.Length + body.Length];
        TailCallGuard.CopyTo(code);
        body.CopyTo(code.AsSpan(TailCallGuard.Length));
        PushBytes(_state, code);
        PushBytes(_state, "@user_script"u8);
        if (lua_pcallk(_state, 2, 2, 0, 0, 0) != Ok)
        {
            var failure = LuaReplies.ErrorText(ToBytes(_state, -1));
            lua_settop(_state, 0);
            return failure;

        }

        if (lua_type(_state, 1) != TypeFunction)
        {
            // Lua 5.1 quotes the end of the script as a token ("near '<eof>'"), 5.4 does not.
            var error = lua_type(_state, 2) == TypeString ? LuaReplies.ErrorText(ToBytes(_state, 2)).Replace("near <eof>", "near '<eof>'", StringComparison.Ordinal) : "compilation failed";
            lua_settop(_state, 0);
            return error;
        }

        _ = lua_rawgeti(_state, RegistryIndex, ScriptsSlot);
        PushString(_state, sha);
        lua_pushvalue(_state, 1);
        lua_rawset(_state, -3);
        lua_settop(_state, 0);
        return null;
    }

    public bool IsCompiled(string sha)
    {
        _ = lua_rawgeti(_state, RegistryIndex, ScriptsSlot);
        PushString(_state, sha);
        var found = lua_rawget(_state, -2) != TypeNil;
        Pop(_state, 2);
        return found;
    }

    /// <summary>
    /// Runs the compiled script <paramref name="run"/> names with KEYS and ARGV from <paramref name="request"/>
    /// (EVAL's arguments after numkeys). The result stays in the state until <see cref="WriteReply"/>.
    /// </summary>
    public ScriptOutcome Run(ScriptRun run, RespRequest request, int numkeys)
    {
        var previous = t_current;
        t_current = this;
        _run = run;
        try
        {
            lua_settop(_thread, 0);
            _ = lua_rawgeti(_state, RegistryIndex, GlobalsSlot);
            SetArray(_state, "KEYS"u8, request, 3, numkeys);
            SetArray(_state, "ARGV"u8, request, 3 + numkeys, request.Count - 3 - numkeys);
            Pop(_state, 1);

            _ = lua_rawgeti(_thread, RegistryIndex, RunnerSlot);
            _ = lua_rawgeti(_thread, RegistryIndex, ScriptsSlot);
            PushString(_thread, run.Sha);
            _ = lua_rawget(_thread, -2);
            lua_copy(_thread, -1, -2);
            Pop(_thread, 1);

            _enforceMemory = true;
            _status = lua_resume(_thread, _state, 1, out _results);
            _enforceMemory = false;
            return _status switch
            {
                Ok => ScriptOutcome.Finished,
                Yield when run.KillRequested => ScriptOutcome.Killed,
                _ => ScriptOutcome.Failed,
            };
        }
        finally
        {
            _enforceMemory = false;
            t_current = previous;
        }
    }

    /// <summary>Writes the reply of the last <see cref="Run"/> (the script's result or Redis's error) and resets the coroutine.</summary>
    public void WriteReply(ScriptRun run, RespWriter writer)
    {
        try
        {
            if (_status == Ok)
            {
                // Stack: xpcall's status, then the script's first result or the error table.
                var succeeded = lua_toboolean(_thread, 1) != 0;
                lua_settop(_thread, 2);
                if (succeeded)
                    LuaReplies.Write(_thread, writer, run.Resp);
                else
                    writer.WriteError(ErrorReply(run.Sha));
            }
            else if (_status == Yield && run.KillRequested)
            {
                writer.WriteError($"ERR Script killed by user with SCRIPT KILL... script: {run.Sha}, on @user_script:{run.KilledAtLine}.");
            }
            else if (_status == Yield)
            {
                writer.WriteError($"ERR attempt to yield across metamethod/C-call boundary script: {run.Sha}, on @user_script:1.");
            }
            else
            {
                var message = lua_type(_thread, -1) == TypeString ? LuaReplies.ErrorText(ToBytes(_thread, -1)) : "execution failure";
                writer.WriteError($"ERR Error running script {run.Sha}, {(message.Length > 100 ? message[..100] : message)}");
            }
        }
        finally
        {
            if (_status != Ok)
                _ = lua_resetthread(_thread);
            lua_settop(_thread, 0);
            _ = lua_rawgeti(_state, RegistryIndex, GlobalsSlot);
            ClearGlobal(_state, "KEYS"u8);
            ClearGlobal(_state, "ARGV"u8);
            Pop(_state, 1);
            _run = null;
        }
    }

    // The error table at the top: "-<err> script: <sha>, on <source>:<line>." (the place only when known).
    private string ErrorReply(string sha)
    {
        var table = lua_gettop(_thread);
        if (lua_type(_thread, table) != TypeTable)
        {
            var text = lua_type(_thread, table) == TypeString ? LuaReplies.ErrorText(ToBytes(_thread, table)) : "execution failure";
            return $"ERR Error running script {sha}, {(text.Length > 100 ? text[..100] : text)}";
        }

        var message = FieldText(table, "err"u8) ?? "ERR unknown error";
        var source = FieldText(table, "source"u8);
        var line = FieldText(table, "line"u8);
        return source is not null && line is not null ? $"{message} script: {sha}, on {source}:{line}." : message;
    }

    private string? FieldText(int table, ReadOnlySpan<byte> name)
    {
        _ = lua_checkstack(_thread, 2);
        PushBytes(_thread, name);
        _ = lua_rawget(_thread, table);
        string? text = null;
        if (lua_type(_thread, -1) == TypeString)
            text = LuaReplies.ErrorText(ToBytes(_thread, -1));
        else if (lua_type(_thread, -1) == TypeNumber)
            text = LuaReplies.ToInteger(_thread, -1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Pop(_thread, 1);
        return text;
    }

    private static void SetArray(nint state, ReadOnlySpan<byte> name, RespRequest request, int first, int count)
    {
        PushBytes(state, name);
        lua_createtable(state, count, 0);
        for (var i = 0; i < count; i++)
        {
            PushBytes(state, request[first + i]);
            lua_rawseti(state, -2, i + 1);
        }

        lua_rawset(state, -3);
    }

    private static void ClearGlobal(nint state, ReadOnlySpan<byte> name)
    {
        PushBytes(state, name);
        lua_pushnil(state);
        lua_rawset(state, -3);
    }

    private static void PushString(nint state, string text)
    {
        Span<byte> bytes = stackalloc byte[text.Length];
        System.Text.Encoding.ASCII.GetBytes(text, bytes);
        PushBytes(state, bytes);
    }

    private void LoadSandbox()
    {
        using var stream = typeof(LuaRuntime).Assembly.GetManifestResourceStream("Estoraje.Server.Scripting.Sandbox.lua")
            ?? throw new InvalidOperationException("The Lua sandbox resource is missing.");
        var source = new byte[stream.Length];
        stream.ReadExactly(source);
        fixed (byte* code = source)
        fixed (byte* name = "=sandbox\0"u8)
        fixed (byte* mode = "t\0"u8)
        {
            if (luaL_loadbufferx(_state, code, (nuint)source.Length, name, mode) != Ok)
                throw new InvalidOperationException("The Lua sandbox does not compile: " + LuaReplies.ErrorText(ToBytes(_state, -1)));
        }

        lua_createtable(_state, 0, 8);
        SetFunction("call"u8, &Call);
        SetFunction("known"u8, &Known);
        SetFunction("sha1hex"u8, &Sha1Hex);
        SetFunction("log"u8, &Log);
        SetFunction("setresp"u8, &SetResp);
        PushBytes(_state, "version"u8);
        PushBytes(_state, ScriptEngine.RedisVersion);
        lua_rawset(_state, -3);
        PushBytes(_state, "null"u8);
        lua_pushlightuserdata(_state, 0);
        lua_rawset(_state, -3);
        PushBytes(_state, "versionnum"u8);
        lua_pushinteger(_state, ScriptEngine.RedisVersionNumber);
        lua_rawset(_state, -3);
        if (lua_pcallk(_state, 1, 4, 0, 0, 0) != Ok)
            throw new InvalidOperationException("The Lua sandbox failed: " + LuaReplies.ErrorText(ToBytes(_state, -1)));

        lua_rawseti(_state, RegistryIndex, LoadSlot);
        lua_rawseti(_state, RegistryIndex, GlobalsSlot);
        Pop(_state, 1); // the scripts' environment: reachable through the globals' _G
        lua_rawseti(_state, RegistryIndex, RunnerSlot);
        lua_createtable(_state, 0, 0);
        lua_rawseti(_state, RegistryIndex, ScriptsSlot);
    }

    private void SetFunction(ReadOnlySpan<byte> name, delegate* unmanaged[Cdecl]<nint, int> function)
    {
        PushBytes(_state, name);
        lua_pushcclosure(_state, function, 0);
        lua_rawset(_state, -3);
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (_state != 0)
            lua_close(_state);
        if (_self.IsAllocated)
            _self.Free();
    }

    // The allocator of every state: tracks the bytes held, and while a script runs refuses to go past the limit
    // (Lua then raises "not enough memory" inside the script). Never refuses while managed code runs, since an
    // error raised there would cross managed frames.
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static nint Allocate(nint userData, nint block, nuint oldSize, nuint newSize)
    {
        var runtime = (LuaRuntime)GCHandle.FromIntPtr(userData).Target!;
        var old = block == 0 ? 0 : (long)oldSize;
        if (newSize == 0)
        {
            NativeMemory.Free((void*)block);
            Interlocked.Add(ref s_memory, -old);
            return 0;
        }

        var growth = (long)newSize - old;
        if (growth > 0 && runtime._enforceMemory && Interlocked.Read(ref s_memory) + growth > MemoryLimit)
            return 0;
        var result = NativeMemory.Realloc((void*)block, newSize);
        if (result is null)
            return 0;
        Interlocked.Add(ref s_memory, growth);
        return (nint)result;
    }

    // Every 100,000 instructions: a script SCRIPT KILL asked to stop yields from here, which unwinds it.
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Hook(nint state, nint debug)
    {
        var runtime = t_current;
        var run = runtime?._run;
        if (run is null || !run.KillRequested || state != runtime!._thread || lua_isyieldable(state) == 0)
            return;
        fixed (byte* what = "l\0"u8)
        {
            if (lua_getinfo(state, what, debug) != 0)
                run.KilledAtLine = *(int*)((byte*)debug + DebugCurrentLineOffset);
        }

        _ = lua_yieldk(state, 0, 0, 0);
    }

    // redis.call / redis.pcall: returns the reply as a Lua value and whether it is an error (the sandbox raises).
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Call(nint state) => Native(state, static (runtime, s) => runtime.ExecuteCommand(s));

    // redis.acl_check_cmd: whether the command exists (the only user may run every command).
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Known(nint state) => Native(state, static (runtime, s) => runtime.CheckCommand(s));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Sha1Hex(nint state) => Native(state, static (_, s) =>
    {
        PushString(s, ScriptEngine.Sha1Hex(ToBytes(s, 1)));
        return 1;
    });

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Log(nint state) => Native(state, static (runtime, s) =>
    {
        runtime._engine.Log((int)lua_tointegerx(s, 1, out _), System.Text.Encoding.UTF8.GetString(ToBytes(s, 2)));
        return 0;
    });

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int SetResp(nint state) => Native(state, static (runtime, s) =>
    {
        runtime._run!.Resp = (int)lua_tointegerx(s, 1, out _);
        return 0;
    });

    // Runs a native function with the memory cap lifted; an exception becomes an error value, never a crash.
    private static int Native(nint state, Func<LuaRuntime, nint, int> body)
    {
        var runtime = t_current;
        if (runtime?._run is null)
        {
            lua_settop(state, 0);
            LuaReplies.PushError(state, "redis.call/pcall can only be called inside a script invocation"u8);
            lua_pushboolean(state, 1);
            return 2;
        }

        var enforced = runtime._enforceMemory;
        runtime._enforceMemory = false;
        try
        {
            return body(runtime, state);
        }
        catch (Exception ex)
        {
            runtime._engine.ReportFailure(ex);
            lua_settop(state, 0);
            LuaReplies.PushError(state, "internal error while executing a script command"u8);
            lua_pushboolean(state, 1);
            return 2;
        }
        finally
        {
            runtime._enforceMemory = enforced;
        }
    }

    private int ExecuteCommand(nint state)
    {
        if (!TryParseArguments(state, out var request))
            return 2;
        _reply.ResetWrittenCount();
        ScriptCalls.Execute(_run!, request, _reply);
        var failed = LuaReplies.Push(state, _reply.WrittenSpan);
        lua_pushboolean(state, failed ? 1 : 0);
        return 2;
    }

    private int CheckCommand(nint state)
    {
        if (!TryParseArguments(state, out var request))
            return 2;
        if (_run!.Session.Server.Commands.Lookup(request) is null)
        {
            LuaReplies.PushError(state, "Invalid command passed to redis.acl_check_cmd()"u8);
            lua_pushboolean(state, 1);
            return 2;
        }

        lua_pushboolean(state, 1);
        lua_pushboolean(state, 0);
        return 2;
    }

    // The call's arguments as a request (valid until the next call), the stack emptied; on failure the error and
    // true are pushed instead, redis.call's two results.
    private bool TryParseArguments(nint state, out RespRequest request)
    {
        request = default;
        var encoded = EncodeArguments(state, out var error);
        lua_settop(state, 0);
        if (!encoded)
        {
            LuaReplies.PushError(state, error);
            lua_pushboolean(state, 1);
            return false;
        }

        _pending = new ReadOnlySequence<byte>(_request.WrittenMemory);
        _parser.Limits = _run!.Session.Server.Limits;
        _parser.TryParse(ref _pending, out request);
        return true;
    }

    // The arguments on the stack as a RESP request in _request; numbers as Redis formats them (%.17g).
    private bool EncodeArguments(nint state, out ReadOnlySpan<byte> error)
    {
        error = default;
        var count = lua_gettop(state);
        if (count == 0)
        {
            error = "Please specify at least one argument for this redis lib call"u8;
            return false;
        }

        _request.ResetWrittenCount();
        var writer = new RespWriter(_request);
        writer.WriteArrayHeader(count);
        for (var i = 1; i <= count; i++)
        {
            switch (lua_type(state, i))
            {
                case TypeString:
                    writer.WriteBulkString(ToBytes(state, i));
                    break;
                case TypeNumber:
                    var number = lua_isinteger(state, i) != 0 ? lua_tointegerx(state, i, out _) : lua_tonumberx(state, i, out _);
                    writer.WriteBulkString(LuaReplies.FormatArgument(number));
                    break;
                default:
                    error = "Lua redis lib command arguments must be strings or integers"u8;
                    return false;
            }
        }

        return true;
    }
}

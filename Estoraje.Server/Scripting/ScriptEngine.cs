using System.Collections.Concurrent;
using Estoraje.Resp;
using Estoraje.Server.Cluster;
using Estoraje.Server.Commands;
using Estoraje.Server.Network;
using Microsoft.Extensions.Logging;

namespace Estoraje.Server.Scripting;

/// <summary>
/// EVAL and its family on one node: the script cache (SHA1 → body), a pool of Lua states, and the run of a script
/// with the whole store locked (a script is atomic, as in Redis: nothing else reads or writes while it runs). The
/// keys the script wrote are then replicated together, and the reply waits for their write quorum.
/// </summary>
internal sealed partial class ScriptEngine : IDisposable
{
    /// <summary>The version scripts see as redis.REDIS_VERSION (the one INFO reports).</summary>
    public static ReadOnlySpan<byte> RedisVersion => "7.2.4"u8;

    public const long RedisVersionNumber = 0x070204;

    public const string NoScriptError = "NOSCRIPT No matching script. Please use EVAL.";

    private readonly ConcurrentDictionary<string, ScriptBody> _scripts = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<LuaRuntime> _pool = [];
    private readonly ILogger _logger;
    private long _generation;
    private volatile ScriptRun? _running;

    public ScriptEngine(ILogger? logger = null) =>
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>The script running now on this node, if any (SCRIPT KILL).</summary>
    public ScriptRun? Running => _running;

    /// <summary>Scripts in the cache.</summary>
    public int Count => _scripts.Count;

    public bool Contains(string sha) => _scripts.ContainsKey(sha);

    public bool TryGet(string sha, out ScriptBody? script) => _scripts.TryGetValue(sha, out script);

    /// <summary>SHA1 of <paramref name="body"/> as 40 lower-case hex digits.</summary>
    public static string Sha1Hex(ReadOnlySpan<byte> body)
    {
#pragma warning disable CA5350 // SHA1 names scripts, as Redis does; nothing here relies on it being secure.
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(body));
#pragma warning restore CA5350
    }

    /// <summary>
    /// Adds <paramref name="body"/> to the cache once it compiles (SCRIPT LOAD, EVAL); the error reply when it
    /// does not. <paramref name="sha"/> is its SHA1.
    /// </summary>
    public string? Load(byte[] body, out string sha, out ScriptBody? script)
    {
        sha = Sha1Hex(body);
        if (_scripts.TryGetValue(sha, out script))
            return null;
        script = ScriptBody.Parse(body, out var error);
        if (script is null)
            return error;
        var runtime = Rent();
        try
        {
            var failure = runtime.Compile(sha, script.Code);
            if (failure is not null)
            {
                script = null;
                return "ERR Error compiling script (new function): " + failure;
            }
        }
        finally
        {
            Return(runtime);
        }

        _scripts.TryAdd(sha, script);
        return null;
    }

    /// <summary>SCRIPT FLUSH: empties the cache; every Lua state forgets its compiled scripts before its next run.</summary>
    public void Flush()
    {
        Interlocked.Increment(ref _generation);
        _scripts.Clear();
    }

    /// <summary>
    /// Runs a script for EVAL/EVALSHA(_RO) <paramref name="request"/> and writes its reply, or defers it until
    /// the keys it wrote hold their write quorum.
    /// </summary>
    public void Evaluate(ClientSession client, RespRequest request, bool bySha, bool readOnly)
    {
        if (!RespInteger.TryParse(request[2], out var numkeys))
        {
            client.Writer.WriteError(Errors.NotInteger);
            return;
        }

        if (numkeys > request.Count - 3)
        {
            client.Writer.WriteError("ERR Number of keys can't be greater than number of args");
            return;
        }

        if (numkeys < 0)
        {
            client.Writer.WriteError("ERR Number of keys can't be negative");
            return;
        }

        string sha;
        ScriptBody? script;
        if (bySha)
        {
            sha = request[1].Length == 40 ? System.Text.Encoding.ASCII.GetString(request[1]).ToLowerInvariant() : "";
            if (!_scripts.TryGetValue(sha, out script))
            {
                if (sha.Length == 40 && ScriptCluster.CanFetch(client))
                    ScriptCluster.FetchThenRun(client, request, sha, readOnly);
                else
                    client.Writer.WriteError(NoScriptError);
                return;
            }
        }
        else
        {
            var error = Load(request.ToArray(1), out sha, out script);
            if (error is not null)
            {
                client.Writer.WriteError(error);
                return;
            }
        }

        if ((script!.Flags & ScriptFlags.NoCluster) != 0 && client.Server.Router.Membership.Current.Ring.Members.Count > 1)
        {
            client.Writer.WriteError("ERR Can not run script on cluster, 'no-cluster' flag is set.");
            return;
        }

        Run(client, request, (int)numkeys, sha, script, readOnly || (script.Flags & ScriptFlags.NoWrites) != 0);
    }

    private void Run(ClientSession client, RespRequest request, int numkeys, string sha, ScriptBody script, bool readOnly)
    {
        var run = new ScriptRun(client, sha, readOnly);
        var view = client.Server.Router.Membership.Current;
        LuaRuntime? runtime = Rent();
        var lastCommand = client.LastCommand;
        // The keys the script's calls write are collected, and its reply held until their copies are acknowledged;
        // inside EXEC the transaction's run is already open and collects them.
        var replicated = client.WrittenKeys is null && Replication.Applies(view) ? new ReplicatedRun(client) : null;
        try
        {
            var failure = runtime.Compile(sha, script.Code);
            if (failure is not null)
                client.Writer.WriteError("ERR Error compiling script (new function): " + failure);
            else
                Execute(client, runtime, run, request, numkeys);
        }
        catch
        {
            // A state left half-way by an exception (a bug) is not trusted again.
            runtime.Dispose();
            runtime = null;
            throw;
        }
        finally
        {
            replicated?.End();
            client.LastCommand = lastCommand;
            if (runtime is not null)
                Return(runtime);
        }

        if (replicated is not null)
            client.Defer(replicated.ReplicateAsync(view));
    }

    // The whole store is locked while the script runs, as Redis runs a script alone: the keys a script reaches are
    // not all declared, and taking shards one by one as it goes could deadlock against another script or command.
    private void Execute(ClientSession client, LuaRuntime runtime, ScriptRun run, RespRequest request, int numkeys)
    {
        using (client.Store.Lock(ulong.MaxValue))
        {
            _running = run;
            try
            {
                runtime.Run(run, request, numkeys);
            }
            finally
            {
                _running = null;
            }
        }

        runtime.WriteReply(run, client.Writer);
    }

    /// <summary>SCRIPT KILL on this node: OK once the running script will stop, or Redis's refusal.</summary>
    public string Kill()
    {
        var run = _running;
        if (run is null)
            return "NOTBUSY No scripts in execution right now.";
        if (run.Wrote)
            return "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
        run.RequestKill();
        return "OK";
    }

    private LuaRuntime Rent()
    {
        var generation = Interlocked.Read(ref _generation);
        if (!_pool.TryTake(out var runtime))
            runtime = new LuaRuntime(this);
        if (runtime.Generation != generation)
            runtime.Forget(generation);
        return runtime;
    }

    // Keeps a few states: one per core can be busy compiling or converting at once (running is serialized).
    private void Return(LuaRuntime runtime)
    {
        if (_pool.Count < Environment.ProcessorCount)
            _pool.Add(runtime);
        else
            runtime.Dispose();
    }

    /// <summary>redis.log: Redis's levels (debug, verbose, notice, warning) onto the server's log.</summary>
    public void Log(int level, string message) => LogScript(_logger, level switch
    {
        0 => LogLevel.Debug,
        1 => LogLevel.Debug,
        2 => LogLevel.Information,
        _ => LogLevel.Warning,
    }, message);

    public void ReportFailure(Exception exception) => LogFailure(_logger, exception);

    public void Dispose()
    {
        while (_pool.TryTake(out var runtime))
            runtime.Dispose();
    }

    [LoggerMessage(Message = "Script: {Message}")]
    private static partial void LogScript(ILogger logger, LogLevel level, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "A command called from a script failed")]
    private static partial void LogFailure(ILogger logger, Exception exception);
}

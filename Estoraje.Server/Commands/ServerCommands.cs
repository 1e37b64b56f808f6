using System.Diagnostics;
using System.Globalization;
using System.Text;
using Estoraje.Resp;
using Estoraje.Server.Messaging;
using Estoraje.Server.Network;
using Estoraje.Storage.Log;

namespace Estoraje.Server.Commands;

/// <summary>INFO, COMMAND, CONFIG, DBSIZE, FLUSHALL, TIME, SHUTDOWN, DEBUG...</summary>
internal static class ServerCommands
{
    private static readonly string[] s_defaultSections =
        ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats", "cluster", "keyspace"];

    public static void Info(ClientSession client, RespRequest request)
    {
        var sections = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (request.Count == 1)
            sections.UnionWith(s_defaultSections);
        for (var i = 1; i < request.Count; i++)
        {
            var name = request.GetString(i).ToLowerInvariant();
            if (name is "all" or "everything")
                sections.UnionWith([.. s_defaultSections, "commandstats"]);
            else if (name == "default")
                sections.UnionWith(s_defaultSections);
            else
                sections.Add(name);
        }

        client.Writer.WriteVerbatimString("txt", Encoding.UTF8.GetBytes(InfoText.Build(client.Server, sections)));
    }

    public static void Command(ClientSession client, RespRequest request)
    {
        var all = client.Server.Commands.All;
        client.Writer.WriteArrayHeader(all.Count);
        foreach (var command in all)
            WriteCommandInfo(client.Writer, command);
    }

    public static void CommandCount(ClientSession client, RespRequest request) =>
        client.Writer.WriteInteger(client.Server.Commands.All.Count);

    public static void CommandInfo(ClientSession client, RespRequest request)
    {
        var table = client.Server.Commands;
        if (request.Count == 2)
        {
            Command(client, request);
            return;
        }

        client.Writer.WriteArrayHeader(request.Count - 2);
        for (var i = 2; i < request.Count; i++)
        {
            var command = FindByFullName(table, request.GetString(i));
            if (command is null)
                client.Writer.WriteNull();
            else
                WriteCommandInfo(client.Writer, command);
        }
    }

    public static void CommandDocs(ClientSession client, RespRequest request)
    {
        var table = client.Server.Commands;
        var commands = new List<CommandDefinition>();
        if (request.Count == 2)
        {
            commands.AddRange(table.All);
        }
        else
        {
            for (var i = 2; i < request.Count; i++)
            {
                var command = FindByFullName(table, request.GetString(i));
                if (command is not null)
                    commands.Add(command);
            }
        }

        client.Writer.WriteMapHeader(commands.Count);
        foreach (var command in commands)
        {
            client.Writer.WriteBulkString(command.FullName);
            WriteCommandDocs(client.Writer, command);
        }
    }

    public static void CommandList(ClientSession client, RespRequest request)
    {
        Func<CommandDefinition, bool> filter = _ => true;
        if (request.Count == 5 && request.Is(2, "FILTERBY"u8))
        {
            var value = request.GetString(4);
            if (request.Is(3, "MODULE"u8))
            {
                filter = _ => false;
            }
            else if (request.Is(3, "ACLCAT"u8))
            {
                filter = c => AclCategories(c).Contains("@" + value.ToLowerInvariant());
            }
            else if (request.Is(3, "PATTERN"u8))
            {
                var pattern = Encoding.UTF8.GetBytes(value);
                filter = c => Glob.IsMatch(pattern, Encoding.UTF8.GetBytes(c.FullName));
            }
            else
            {
                client.Writer.WriteError(Errors.Syntax);
                return;
            }
        }
        else if (request.Count != 2)
        {
            client.Writer.WriteError(Errors.Syntax);
            return;
        }

        var names = client.Server.Commands.All
            .SelectMany(c => c.Subcommands.Prepend(c))
            .Where(filter)
            .Select(c => c.FullName)
            .ToList();
        client.Writer.WriteArrayHeader(names.Count);
        foreach (var name in names)
            client.Writer.WriteBulkString(name);
    }

    public static void CommandGetKeys(ClientSession client, RespRequest request)
    {
        var command = client.Server.Commands.Find(request[2]);
        if (command is not null && command.HasSubcommands && request.Count > 3)
            command = command.FindSubcommand(request[3]) ?? command;
        if (command is null)
        {
            client.Writer.WriteError("ERR Invalid command specified");
            return;
        }

        var argc = request.Count - 2;
        if (!command.AcceptsArgumentCount(argc))
        {
            client.Writer.WriteError("ERR Invalid number of arguments specified for command");
            return;
        }

        if (!command.HasKeys)
        {
            client.Writer.WriteError("ERR The command has no key arguments");
            return;
        }

        var keys = command.Keys(request, offset: 2);
        // A command whose keys may all be absent (EVAL with numkeys 0) has none rather than invalid arguments.
        if (keys.Invalid && (command.Flags & CommandFlags.NoMandatoryKeys) != 0)
        {
            client.Writer.WriteArrayHeader(0);
            return;
        }

        if (keys.Invalid)
        {
            client.Writer.WriteError("ERR Invalid arguments specified for command");
            return;
        }

        var positions = new List<int>();
        foreach (var position in keys)
            positions.Add(position + 2);
        client.Writer.WriteArrayHeader(positions.Count);
        foreach (var position in positions)
            client.Writer.WriteBulkString(request[position]);
    }

    public static void CommandHelp(ClientSession client, RespRequest request) => WriteHelp(client, "COMMAND",
    [
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
    ]);

    public static void ConfigGet(ClientSession client, RespRequest request)
    {
        // As Redis: a name without glob characters is looked up ignoring case and echoed as given; a pattern
        // matches names ignoring case and yields them as the table spells them.
        var found = new List<(string Name, string Value)>();
        for (var i = 2; i < request.Count; i++)
        {
            var name = request.GetString(i);
            if (name.AsSpan().IndexOfAny('[', '*', '?') < 0)
            {
                if (ConfigParameters.Find(name) is { } parameter && !found.Exists(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase)))
                    found.Add((name, parameter.Get(client.Server)));
                continue;
            }

            var pattern = request.ToArray(i);
            for (var j = 0; j < pattern.Length; j++)
            {
                if (pattern[j] is >= (byte)'A' and <= (byte)'Z')
                    pattern[j] |= 0x20;
            }

            foreach (var parameter in ConfigParameters.All)
            {
                if (Glob.IsMatch(pattern, Encoding.ASCII.GetBytes(parameter.Name)) && !found.Exists(f => f.Name == parameter.Name))
                    found.Add((parameter.Name, parameter.Get(client.Server)));
            }
        }

        client.Writer.WriteMapHeader(found.Count);
        foreach (var (name, value) in found)
        {
            client.Writer.WriteBulkString(name);
            client.Writer.WriteBulkString(value);
        }
    }

    public static void ConfigSet(ClientSession client, RespRequest request)
    {
        // Redis 7 answers an odd count with a syntax error, not an arity error.
        if (request.Count % 2 != 0)
        {
            client.Writer.WriteError(Errors.Syntax);
            return;
        }

        // All or nothing, in Redis's order: every name is checked (unknown, immutable, given twice) before any
        // value, and nothing is applied until every value is valid. The first problem found is the reply.
        var changes = new List<(ConfigParameter Parameter, string Value)>();
        for (var i = 2; i < request.Count; i += 2)
        {
            var name = request.GetString(i);
            var parameter = ConfigParameters.Find(name);
            if (parameter is null)
            {
                client.Writer.WriteError($"ERR Unknown option or number of arguments for CONFIG SET - '{name}'");
                return;
            }

            if (parameter.Set is null)
            {
                client.Writer.WriteError($"ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config");
                return;
            }

            if (changes.Exists(c => c.Parameter == parameter))
            {
                client.Writer.WriteError($"ERR CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter");
                return;
            }

            changes.Add((parameter, request.GetString(i + 1)));
        }

        foreach (var (parameter, value) in changes)
        {
            // A bad value is reported under the parameter's own name, as Redis does.
            if (parameter.Validate is not null && parameter.Validate(value) is { } problem)
            {
                client.Writer.WriteError($"ERR CONFIG SET failed (possibly related to argument '{parameter.Name}') - {problem}");
                return;
            }
        }

        foreach (var (parameter, value) in changes)
            parameter.Set!(client.Server, value);
        client.Writer.WriteOk();
    }

    public static void ConfigResetStat(ClientSession client, RespRequest request)
    {
        client.Server.ResetStats();
        client.Writer.WriteOk();
    }

    public static void ConfigRewrite(ClientSession client, RespRequest request) =>
        client.Writer.WriteError("ERR The server is running without a config file");

    public static void ConfigHelp(ClientSession client, RespRequest request) => WriteHelp(client, "CONFIG",
    [
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
    ]);

    public static void DbSize(ClientSession client, RespRequest request)
    {
        var owned = Cluster.Replication.OwnedKeys(client);
        if (owned is null)
        {
            client.Writer.WriteInteger(client.Store.Count);
            return;
        }

        // This node's part of a cluster-wide DBSIZE on a replicated ring: the keys it is primary of, counted
        // by a walk (O(keys), unlike Redis's O(1)).
        long count = 0;
        var keys = new List<byte[]>();
        ulong cursor = 0;
        do
        {
            keys.Clear();
            cursor = client.Store.Scan(cursor, 1000, keys);
            foreach (var key in keys)
            {
                if (owned(key) && client.Store.TryGet(key, out _, touch: false))
                    count++;
            }
        }
        while (cursor != 0);
        client.Writer.WriteInteger(count);
    }

    /// <summary>FLUSHDB and FLUSHALL (one database): the store is emptied at once, ASYNC or not.</summary>
    public static void Flush(ClientSession client, RespRequest request)
    {
        if (request.Count > 2 || (request.Count == 2 && !request.Is(1, "ASYNC"u8) && !request.Is(1, "SYNC"u8)))
        {
            client.Writer.WriteError(Errors.Syntax);
            return;
        }

        client.Store.Clear();
        client.Writer.WriteOk();
    }

    public static void Time(ClientSession client, RespRequest request)
    {
        // As Redis, the clock's time now, not the command's (see CommandClock).
        var micros = (client.Server.Time.GetWallNow() - DateTimeOffset.UnixEpoch).Ticks / 10;
        client.Writer.WriteArrayHeader(2);
        client.Writer.WriteBulkString(micros / 1_000_000);
        client.Writer.WriteBulkString(micros % 1_000_000);
    }

    /// <summary>BGREWRITEAOF: a compaction of every segment of the log store, in the background.</summary>
    public static void BgRewriteAof(ClientSession client, RespRequest request)
    {
        if (client.Server.Compaction is not { } compaction)
            client.Writer.WriteError("ERR BGREWRITEAOF needs the log store (--storage log)");
        else if (!compaction.TryStart(full: true))
            client.Writer.WriteError("ERR Background append only file rewriting already in progress");
        else
            client.Writer.WriteSimpleString("Background append only file rewriting started");
    }

    public static void LastSave(ClientSession client, RespRequest request) => client.Writer.WriteInteger(client.Server.LastSave);

    public static void Shutdown(ClientSession client, RespRequest request)
    {
        var abort = false;
        for (var i = 1; i < request.Count; i++)
        {
            if (request.Is(i, "ABORT"u8))
                abort = true;
            else if (!(request.Is(i, "NOSAVE"u8) || request.Is(i, "SAVE"u8) || request.Is(i, "NOW"u8) || request.Is(i, "FORCE"u8)))
            {
                client.Writer.WriteError(Errors.Syntax);
                return;
            }
        }

        if (abort)
        {
            if (request.Count == 2)
                client.Writer.WriteError("ERR No shutdown in progress.");
            else
                client.Writer.WriteError(Errors.Syntax);
            return;
        }

        // Like Redis, a successful SHUTDOWN sends no reply: the connection just closes.
        client.CloseAfterReply = true;
        client.Server.RequestShutdown();
    }

    public static void Debug(ClientSession client, RespRequest request)
    {
        if (request.Is(1, "SLEEP"u8) && request.Count == 3)
        {
            // Thread.Sleep takes at most int.MaxValue ms (24.8 days); beyond, it would throw and drop the connection.
            if (!Numbers.TryParseDouble(request[2], out var seconds) || seconds < 0 || seconds * 1000 > int.MaxValue)
            {
                client.Writer.WriteError(Errors.NotFloat);
                return;
            }

            Thread.Sleep(TimeSpan.FromSeconds(seconds));
            client.Writer.WriteOk();
        }
        else if (request.Is(1, "HELP"u8) && request.Count == 2)
        {
            WriteHelp(client, "DEBUG",
            [
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
            ]);
        }
        else
        {
            client.Writer.WriteError($"ERR unknown subcommand or wrong number of arguments for '{Errors.Truncate(request.GetString(1), 128)}'. Try DEBUG HELP.");
        }
    }

    /// <summary>The reply of every <c>X HELP</c>: status lines, as Redis's addReplyHelp.</summary>
    internal static void WriteHelp(ClientSession client, string command, string[] lines)
    {
        client.Writer.WriteArrayHeader(lines.Length + 3);
        client.Writer.WriteSimpleString($"{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
        foreach (var line in lines)
            client.Writer.WriteSimpleString(line);
        client.Writer.WriteSimpleString("HELP");
        client.Writer.WriteSimpleString("    Prints this help.");
    }

    private static CommandDefinition? FindByFullName(CommandTable table, string name)
    {
        var bar = name.IndexOf('|', StringComparison.Ordinal);
        if (bar < 0)
            return table.Find(name.ToLowerInvariant());
        var parent = table.Find(name[..bar].ToLowerInvariant());
        return parent?.FindSubcommand(Encoding.UTF8.GetBytes(name[(bar + 1)..]));
    }

    private static void WriteCommandInfo(RespWriter writer, CommandDefinition command)
    {
        writer.WriteArrayHeader(10);
        writer.WriteBulkString(command.FullName);
        writer.WriteInteger(command.Arity);
        var flags = FlagNames(command);
        writer.WriteSetHeader(flags.Count);
        foreach (var flag in flags)
            writer.WriteSimpleString(flag);
        writer.WriteInteger(command.FirstKey);
        writer.WriteInteger(command.LastKey);
        writer.WriteInteger(command.Step);
        var categories = AclCategories(command);
        writer.WriteSetHeader(categories.Count);
        foreach (var category in categories)
            writer.WriteSimpleString(category);
        writer.WriteSetHeader(0);
        writer.WriteArrayHeader(0);
        writer.WriteArrayHeader(command.Subcommands.Length);
        foreach (var sub in command.Subcommands)
            WriteCommandInfo(writer, sub);
    }

    private static void WriteCommandDocs(RespWriter writer, CommandDefinition command)
    {
        var hasSubcommands = command.HasSubcommands;
        writer.WriteMapHeader(hasSubcommands ? 4 : 3);
        writer.WriteBulkString("summary");
        writer.WriteBulkString(command.Summary);
        writer.WriteBulkString("since");
        writer.WriteBulkString(command.Since);
        writer.WriteBulkString("group");
        writer.WriteBulkString(command.Group);
        if (!hasSubcommands)
            return;
        writer.WriteBulkString("subcommands");
        writer.WriteMapHeader(command.Subcommands.Length);
        foreach (var sub in command.Subcommands)
        {
            writer.WriteBulkString(sub.FullName);
            WriteCommandDocs(writer, sub);
        }
    }

    private static List<string> FlagNames(CommandDefinition command)
    {
        var names = new List<string>();
        void Add(CommandFlags flag, string name)
        {
            if ((command.Flags & flag) != 0)
                names.Add(name);
        }

        Add(CommandFlags.Write, "write");
        Add(CommandFlags.ReadOnly, "readonly");
        Add(CommandFlags.DenyOom, "denyoom");
        Add(CommandFlags.Admin, "admin");
        Add(CommandFlags.PubSub, "pubsub");
        Add(CommandFlags.NoScript, "noscript");
        Add(CommandFlags.Loading, "loading");
        Add(CommandFlags.Stale, "stale");
        Add(CommandFlags.SkipSlowlog, "skip_slowlog");
        Add(CommandFlags.Fast, "fast");
        Add(CommandFlags.NoAuth, "no_auth");
        Add(CommandFlags.NoMulti, "no_multi");
        Add(CommandFlags.NoMandatoryKeys, "no_mandatory_keys");
        Add(CommandFlags.AllowBusy, "allow_busy");
        if (command.NumKeysIndex > 0)
            names.Add("movablekeys");
        return names;
    }

    internal static List<string> AclCategories(CommandDefinition command)
    {
        var categories = new List<string>();
        var flags = command.Flags;
        if ((flags & CommandFlags.Write) != 0)
            categories.Add("@write");
        if ((flags & CommandFlags.ReadOnly) != 0)
            categories.Add("@read");
        if ((flags & CommandFlags.PubSub) != 0)
            categories.Add("@pubsub");
        if ((flags & CommandFlags.Admin) != 0)
            categories.Add("@admin");
        if ((flags & CommandFlags.Dangerous) != 0 || (flags & CommandFlags.Admin) != 0)
            categories.Add("@dangerous");
        categories.Add((flags & CommandFlags.Fast) != 0 ? "@fast" : "@slow");
        switch (command.Group)
        {
            case "string":
                categories.Add("@string");
                break;
            case "generic":
                categories.Add("@keyspace");
                break;
            case "connection":
                categories.Add("@connection");
                break;
            case "sorted_set":
                categories.Add("@sortedset");
                break;
            case "transactions":
                categories.Add("@transaction");
                break;
            case "hash" or "list" or "set":
                categories.Add("@" + command.Group);
                break;
            case "scripting":
                categories.Add("@scripting");
                break;
        }

        return categories;
    }
}

/// <summary>One CONFIG parameter: how to read it, and how to change it (null when immutable).</summary>
internal sealed record ConfigParameter(string Name, Func<ServerContext, string> Get, Action<ServerContext, string>? Set = null,
    Func<string, string?>? Validate = null);

/// <summary>The parameters CONFIG GET and CONFIG SET know, with Redis's names.</summary>
internal static class ConfigParameters
{
    public static IReadOnlyList<ConfigParameter> All { get; } =
    [
        new("bind", s => s.Options.Bind),
        new("port", s => s.Options.Port.ToString(CultureInfo.InvariantCulture)),
        new("dir", s => Path.GetFullPath(s.Options.Dir)),
        new("requirepass", s => s.RequirePass, (s, v) => s.RequirePass = v),
        new("maxclients", s => s.Options.MaxClients.ToString(CultureInfo.InvariantCulture), (s, v) => s.Options.MaxClients = (int)Math.Min(ParseInteger(v), int.MaxValue), Integer(1, uint.MaxValue)),
        new("hz", s => s.Options.Hz.ToString(CultureInfo.InvariantCulture), (s, v) => s.Options.Hz = (int)Math.Clamp(ParseInteger(v), 1, 500), Integer(0, int.MaxValue)),
        new("proto-max-bulk-len", s => s.Options.ProtoMaxBulkLen.ToString(CultureInfo.InvariantCulture), (s, v) => SetLimits(s, bulk: ParseMemory(v)), Memory(1024 * 1024, long.MaxValue)),
        new("client-query-buffer-limit", s => s.Options.ClientQueryBufferLimit.ToString(CultureInfo.InvariantCulture), (s, v) => SetLimits(s, query: ParseMemory(v)), Memory(1024 * 1024, long.MaxValue)),
        new("sync-max-bytes-per-sec", s => s.Options.SyncMaxBytesPerSec.ToString(CultureInfo.InvariantCulture), SetSyncCap, Memory(0, long.MaxValue)),
        new("anti-entropy-interval", s => s.Options.AntiEntropyInterval.ToString(CultureInfo.InvariantCulture)),
        new("storage", s => s.Options.Storage),
        new("databases", _ => "1"),
        new("save", _ => ""),
        new("appendonly", s => s.Store is LogStore ? "yes" : "no"),
        new("appendfsync", s => s.Options.AppendFsync),
        new("maxmemory", s => (s.Store is LogStore log ? log.Options.CacheBytes : 0).ToString(CultureInfo.InvariantCulture)),
        new("maxmemory-policy", _ => "noeviction"),
        new("timeout", _ => "0"),
        new("cluster-enabled", _ => "no"),
        new("replica-read-only", _ => "yes"),
        new("slave-read-only", _ => "yes"),
    ];

    public static ConfigParameter? Find(string name)
    {
        foreach (var parameter in All)
        {
            if (string.Equals(parameter.Name, name, StringComparison.OrdinalIgnoreCase))
                return parameter;
        }

        return null;
    }

    // Redis's numeric configs: an integer as string2ll reads it, then the bounds, with Redis's messages.
    private static void SetSyncCap(ServerContext server, string value)
    {
        server.Options.SyncMaxBytesPerSec = ParseMemory(value);
        if (server.SlotSync is { } sync)
            sync.MaxBytesPerSecond = server.Options.SyncMaxBytesPerSec;
    }

    private static Func<string, string?> Integer(long min, long max) => value =>
        !RespInteger.TryParse(Encoding.ASCII.GetBytes(value), out var n) ? "argument couldn't be parsed into an integer"
        : n < min || n > max ? $"argument must be between {min} and {max} inclusive"
        : null;

    // Memory configs take memtoull's <digits>[b|k|kb|m|mb|g|gb] instead.
    private static Func<string, string?> Memory(long min, long max) => value =>
        !TryParseMemory(value, out var n) ? "argument must be a memory value"
        : n < min || n > max ? $"argument must be between {min} and {max} inclusive"
        : null;

    private static long ParseInteger(string value) => RespInteger.TryParse(Encoding.ASCII.GetBytes(value), out var n) ? n : 0;

    private static long ParseMemory(string value) => TryParseMemory(value, out var n) ? n : 0;

    // Too large a value reads as -1 (Redis wraps around to a negative number): out of bounds, not malformed.
    private static bool TryParseMemory(string value, out long bytes)
    {
        bytes = 0;
        var digits = 0;
        while (digits < value.Length && char.IsAsciiDigit(value[digits]))
            digits++;
        long unit = value[digits..].ToLowerInvariant() switch
        {
            "" or "b" => 1,
            "k" => 1000,
            "kb" => 1024,
            "m" => 1000 * 1000,
            "mb" => 1024 * 1024,
            "g" => 1000L * 1000 * 1000,
            "gb" => 1024L * 1024 * 1024,
            _ => 0,
        };
        if (unit == 0)
            return false;
        if (digits == 0)
            return true;
        bytes = long.TryParse(value.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= long.MaxValue / unit
            ? n * unit
            : -1;
        return true;
    }

    private static void SetLimits(ServerContext server, long? bulk = null, long? query = null)
    {
        if (bulk is not null)
            server.Options.ProtoMaxBulkLen = bulk.Value;
        if (query is not null)
            server.Options.ClientQueryBufferLimit = query.Value;
        server.Limits = server.Limits with { MaxBulkLength = server.Options.ProtoMaxBulkLen, MaxQueryBuffer = server.Options.ClientQueryBufferLimit };
        foreach (var client in server.Clients.Values)
            client.Parser.Limits = server.Limits;
    }
}

/// <summary>The text of INFO, section by section, in Redis's format.</summary>
internal static class InfoText
{
    // Slots this node leads and slots it holds a copy of for another primary.
    private static (int Primary, int Replica) SlotsHeld(Cluster.ClusterView view)
    {
        if (view.SelfIndex < 0)
            return (0, 0);
        var (primary, replica) = (0, 0);
        for (var slot = 0; slot < Ring.KeySlot.Count; slot++)
        {
            var position = view.Ring.ReplicasOf(slot).IndexOf(view.SelfIndex);
            if (position == 0)
                primary++;
            else if (position > 0)
                replica++;
        }

        return (primary, replica);
    }

    public static string Build(ServerContext server, HashSet<string> sections)
    {
        var sb = new StringBuilder(2048);
        var now = server.Time.GetUtcNow();
        var process = Process.GetCurrentProcess();
        void Section(string name, Action body)
        {
            if (!sections.Contains(name))
                return;
            if (sb.Length > 0)
                sb.Append("\r\n");
            sb.Append("# ").Append(char.ToUpperInvariant(name[0])).Append(name.AsSpan(1)).Append("\r\n");
            body();
        }

        void Line(string key, object value) => sb.Append(key).Append(':').Append(Convert.ToString(value, CultureInfo.InvariantCulture)).Append("\r\n");

        var store = server.Store;
        var log = store as LogStore;
        var totals = server.CounterTotals();
        Section("server", () =>
        {
            var uptime = (long)(now - server.StartedAt).TotalSeconds;
            Line("redis_version", ConnectionCommands.RedisVersion);
            Line("redis_git_sha1", "00000000");
            Line("redis_git_dirty", 0);
            Line("redis_build_id", "0");
            Line("redis_mode", "standalone");
            Line("estoraje_version", typeof(ServerCommands).Assembly.GetName().Version?.ToString(3) ?? "0.1.0");
            Line("os", $"{Environment.OSVersion.Platform} {Environment.OSVersion.Version} {System.Runtime.InteropServices.RuntimeInformation.OSArchitecture}");
            Line("arch_bits", Environment.Is64BitProcess ? 64 : 32);
            Line("multiplexing_api", "epoll");
            Line("runtime", System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription);
            Line("process_id", Environment.ProcessId);
            Line("process_supervised", "no");
            Line("run_id", server.RunId);
            Line("tcp_port", server.Options.Port);
            Line("server_time_usec", now.ToUnixTimeMilliseconds() * 1000);
            Line("uptime_in_seconds", uptime);
            Line("uptime_in_days", uptime / 86400);
            Line("hz", server.Options.Hz);
            Line("configured_hz", server.Options.Hz);
            Line("executable", Environment.ProcessPath ?? "");
            Line("config_file", "");
            Line("io_threads_active", 0);
        });
        Section("clients", () =>
        {
            Line("connected_clients", server.Clients.Count);
            Line("cluster_connections", 0);
            Line("maxclients", server.Options.MaxClients);
            Line("client_recent_max_input_buffer", 0);
            Line("client_recent_max_output_buffer", 0);
            Line("blocked_clients", 0);
            Line("tracking_clients", 0);
            Line("clients_in_timeout_table", 0);
        });
        Section("memory", () =>
        {
            var used = GC.GetTotalMemory(false);
            var rss = process.WorkingSet64;
            Line("used_memory", used);
            Line("used_memory_human", Human(used));
            Line("used_memory_rss", rss);
            Line("used_memory_rss_human", Human(rss));
            Line("used_memory_peak", process.PeakWorkingSet64);
            Line("used_memory_peak_human", Human(process.PeakWorkingSet64));
            Line("used_memory_dataset", store.UsedBytes);
            Line("total_system_memory", GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
            var maxMemory = log?.Options.CacheBytes ?? 0;
            Line("maxmemory", maxMemory);
            Line("maxmemory_human", Human(maxMemory));
            Line("maxmemory_policy", log is null ? "noeviction" : "s3fifo-cache");
            if (log is not null)
            {
                // The log store keeps keys in memory and values on disk; maxmemory bounds the hot-value cache.
                Line("estoraje_key_overhead_bytes", LogStore.OverheadPerKey);
                Line("estoraje_key_directory_bytes", log.KeyDirectoryBytes);
                Line("estoraje_tombstones", log.TombstoneCount);
                Line("estoraje_tombstone_bytes", log.TombstoneBytes);
                Line("estoraje_cache_bytes", log.CacheBytes);
                Line("estoraje_cache_hits", log.CacheHits);
                Line("estoraje_cache_misses", log.CacheMisses);
            }

            Line("mem_fragmentation_ratio", used > 0 ? Math.Round((double)rss / used, 2) : 0);
            Line("mem_allocator", "dotnet-gc");
        });
        Section("persistence", () =>
        {
            Line("loading", server.Loading ? 1 : 0);
            Line("async_loading", 0);
            Line("storage_engine", server.Options.Storage);
            Line("rdb_changes_since_last_save", 0);
            Line("rdb_bgsave_in_progress", 0);
            Line("rdb_last_save_time", server.LastSave);
            Line("rdb_last_bgsave_status", "ok");
            var compaction = server.Compaction;
            Line("aof_enabled", log is null ? 0 : 1);
            Line("aof_rewrite_in_progress", compaction is { InProgress: true } ? 1 : 0);
            Line("aof_rewrite_scheduled", 0);
            Line("aof_last_rewrite_time_sec", compaction?.LastSeconds ?? -1);
            Line("aof_rewrites", log?.Compactions ?? 0);
            Line("aof_last_bgrewrite_status", compaction is { LastFailed: true } ? "err" : "ok");
            Line("aof_last_write_status", server.Store.WriteError is null ? "ok" : "err");
            if (log is not null && !server.Loading)
            {
                var (disk, dead) = log.DiskBytes();
                Line("aof_current_size", disk);
                Line("estoraje_appendfsync", server.Options.AppendFsync);
                Line("estoraje_segments", log.SegmentCount);
                Line("estoraje_dead_bytes", dead);
                Line("estoraje_fsyncs", log.FsyncCount);
                Line("estoraje_appended_bytes", log.AppendedBytes);
                Line("estoraje_corrupt_reads", log.CorruptReads);
                if (log.Recovery is { } recovery)
                {
                    Line("estoraje_recovery_ms", (long)recovery.Elapsed.TotalMilliseconds);
                    Line("estoraje_recovery_records", recovery.Records);
                    Line("estoraje_recovery_damaged_ranges", recovery.Damaged.Count);
                }
            }
        });
        Section("stats", () =>
        {
            var stats = server.Stats;
            Line("total_connections_received", Interlocked.Read(ref stats.ConnectionsReceived));
            Line("total_commands_processed", totals.Commands);
            Line("instantaneous_ops_per_sec", 0);
            Line("total_net_input_bytes", totals.NetInputBytes);
            Line("total_net_output_bytes", totals.NetOutputBytes);
            Line("rejected_connections", Interlocked.Read(ref stats.RejectedConnections));
            Line("expired_keys", store.ExpiredTotal);
            Line("evicted_keys", 0);
            Line("keyspace_hits", totals.KeyspaceHits);
            Line("keyspace_misses", totals.KeyspaceMisses);
            Line("pubsub_channels", server.PubSub.Count(SubscriptionKind.Channel));
            Line("pubsub_patterns", server.PubSub.Count(SubscriptionKind.Pattern));
            Line("pubsubshard_channels", server.PubSub.Count(SubscriptionKind.ShardChannel));
            Line("total_error_replies", Interlocked.Read(ref stats.ErrorReplies));
            Line("total_protocol_errors", Interlocked.Read(ref stats.ProtocolErrors));
        });
        Section("replication", () =>
        {
            Line("role", "master");
            Line("connected_slaves", 0);
            Line("master_failover_state", "no-failover");
            Line("master_replid", server.RunId);
            Line("master_replid2", new string('0', 40));
            Line("master_repl_offset", 0);
            Line("second_repl_offset", -1);
            Line("repl_backlog_active", 0);
            Line("repl_backlog_size", 0);
        });
        Section("cpu", () =>
        {
            Line("used_cpu_sys", process.PrivilegedProcessorTime.TotalSeconds.ToString("F6", CultureInfo.InvariantCulture));
            Line("used_cpu_user", process.UserProcessorTime.TotalSeconds.ToString("F6", CultureInfo.InvariantCulture));
            Line("used_cpu_sys_children", "0.000000");
            Line("used_cpu_user_children", "0.000000");
        });
        Section("modules", () => { });
        Section("errorstats", () => { });
        Section("cluster", () =>
        {
            // 0 stays: this is not Redis Cluster, and cluster-aware clients must not switch to it.
            Line("cluster_enabled", 0);
            var membership = server.Membership;
            var view = membership.Current;
            Line("estoraje_mode", server.Options.IsClustered ? "etcd" : "standalone");
            Line("estoraje_cluster_name", server.Options.IsClustered ? server.Options.ClusterName : "");
            Line("estoraje_node_id", view.SelfId);
            Line("estoraje_ordinal", server.Store.Clock.Ordinal);
            Line("estoraje_registered", membership.IsRegistered ? 1 : 0);
            Line("estoraje_members", view.Members.Count);
            Line("estoraje_ring_members", view.Ring.Members.Count);
            Line("estoraje_epoch", view.Epoch);
            Line("estoraje_replicas", server.Options.Replicas);
            Line("estoraje_write_quorum", server.Options.EffectiveWriteQuorum);
            var (primary, replica) = SlotsHeld(view);
            Line("estoraje_slots_primary", primary);
            Line("estoraje_slots_replica", replica);
            Line("estoraje_slots_closed", server.Router.Gate.ClosedCount);
            Line("estoraje_forwarded_commands", server.Router.Sent(Cluster.PeerLink.Forward));
            Line("estoraje_replicated_records", server.Router.Sent(Cluster.PeerLink.Copies));
            Line("estoraje_replication_backlog", server.Router.Outstanding(Cluster.PeerLink.Copies));
            var sync = server.SlotSync;
            Line("estoraje_sync_slots_pending", sync?.PendingSlots ?? 0);
            Line("estoraje_sync_slots_pulled", sync?.SlotsPulled ?? 0);
            Line("estoraje_sync_keys_pulled", sync?.KeysPulled ?? 0);
            Line("estoraje_sync_bytes_pulled", sync?.BytesPulled ?? 0);
            Line("estoraje_sync_keys_pushed", sync?.KeysPushed ?? 0);
            Line("estoraje_sync_keys_dropped", (server.Store as LogStore)?.DroppedKeys ?? 0);
            Line("estoraje_hints_pending", server.Hints?.Pending ?? 0);
            Line("estoraje_hints_delivered", server.Hints?.Delivered ?? 0);
            Line("estoraje_hints_dropped", server.Hints?.Dropped ?? 0);
        });
        Section("keyspace", () =>
        {
            var keys = store.Count;
            if (keys > 0)
                Line("db0", $"keys={keys},expires={store.ExpiringCount},avg_ttl=0");
        });
        Section("commandstats", () =>
        {
            foreach (var command in server.Commands.AllWithSubcommands.OrderBy(c => c.FullName, StringComparer.Ordinal))
            {
                var s = command.Stats;
                var calls = totals.Calls[command.Index];
                var rejected = Interlocked.Read(ref s.RejectedCalls);
                if (calls == 0 && rejected == 0)
                    continue;
                var usec = totals.Microseconds[command.Index];
                var perCall = calls == 0 ? 0 : (double)usec / calls;
                Line("cmdstat_" + command.FullName,
                    $"calls={calls},usec={usec},usec_per_call={perCall.ToString("F2", CultureInfo.InvariantCulture)},rejected_calls={rejected},failed_calls={Interlocked.Read(ref s.FailedCalls)}");
            }
        });
        return sb.ToString();
    }

    private static string Human(long bytes) => bytes switch
    {
        >= 1L << 30 => ((double)bytes / (1L << 30)).ToString("F2", CultureInfo.InvariantCulture) + "G",
        >= 1L << 20 => ((double)bytes / (1L << 20)).ToString("F2", CultureInfo.InvariantCulture) + "M",
        >= 1L << 10 => ((double)bytes / (1L << 10)).ToString("F2", CultureInfo.InvariantCulture) + "K",
        _ => bytes + "B",
    };
}

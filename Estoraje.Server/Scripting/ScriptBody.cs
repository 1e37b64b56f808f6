namespace Estoraje.Server.Scripting;

/// <summary>Flags a script declares in its <c>#!lua flags=...</c> first line (Redis 7).</summary>
[Flags]
internal enum ScriptFlags
{
    None = 0,

    /// <summary>The script is read-only: write commands are refused, as under EVAL_RO.</summary>
    NoWrites = 1,

    /// <summary>The script refuses to run in a cluster.</summary>
    NoCluster = 2,
}

/// <summary>A script body with its shebang line read: the flags, and where the Lua code starts.</summary>
internal sealed record ScriptBody(byte[] Body, ScriptFlags Flags, int CodeStart)
{
    /// <summary>The Lua code: the body after the shebang line (its line break kept, so line numbers stay).</summary>
    public ReadOnlySpan<byte> Code => Body.AsSpan(CodeStart);

    /// <summary>Reads <paramref name="body"/>'s shebang line as Redis does; the error reply when it is not valid.</summary>
    public static ScriptBody? Parse(byte[] body, out string? error)
    {
        error = null;
        if (body.Length < 2 || body[0] != (byte)'#' || body[1] != (byte)'!')
            return new ScriptBody(body, ScriptFlags.None, 0);

        var end = Array.IndexOf(body, (byte)'\n');
        if (end < 0)
            end = body.Length;
        var parts = System.Text.Encoding.UTF8.GetString(body, 0, end).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            error = "ERR Invalid engine in script shebang";
            return null;
        }

        if (parts[0] != "#!lua")
        {
            error = $"ERR Unexpected engine in script shebang: {parts[0]}";
            return null;
        }

        var flags = ScriptFlags.None;
        foreach (var part in parts.AsSpan(1))
        {
            if (!part.StartsWith("flags=", StringComparison.Ordinal))
            {
                error = $"ERR Unknown lua shebang option: {part}";
                return null;
            }

            foreach (var flag in part[6..].Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                switch (flag)
                {
                    case "no-writes":
                        flags |= ScriptFlags.NoWrites;
                        break;
                    case "no-cluster":
                        flags |= ScriptFlags.NoCluster;
                        break;
                    case "allow-oom" or "allow-stale" or "allow-cross-slot-keys":
                        break;
                    default:
                        error = $"ERR Unexpected flag in script shebang: {flag}";
                        return null;
                }
            }
        }

        return new ScriptBody(body, flags, end);
    }
}

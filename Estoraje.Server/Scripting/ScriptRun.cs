using Estoraje.Server.Network;

namespace Estoraje.Server.Scripting;

/// <summary>One execution of a script: who runs it, what it may do, and what it did (SCRIPT KILL reads it).</summary>
internal sealed class ScriptRun
{
    private volatile bool _killRequested;

    public ScriptRun(ClientSession session, string sha, bool readOnly)
    {
        Session = session;
        Sha = sha;
        ReadOnly = readOnly;
    }

    public ClientSession Session { get; }

    /// <summary>The script's SHA1 (hex, lower case), as error replies name it.</summary>
    public string Sha { get; }

    /// <summary>EVAL_RO, EVALSHA_RO or a <c>no-writes</c> script: write commands are refused.</summary>
    public bool ReadOnly { get; }

    /// <summary>The protocol redis.call replies arrive in (redis.setresp): 2 unless the script chose 3.</summary>
    public int Resp { get; set; } = 2;

    /// <summary>Set once a write command ran: SCRIPT KILL then refuses (the script's writes cannot be undone).</summary>
    public bool Wrote { get; set; }

    /// <summary>Set by SCRIPT KILL; the script stops at its next hook check.</summary>
    public bool KillRequested => _killRequested;

    /// <summary>The script line where it was stopped by SCRIPT KILL.</summary>
    public int KilledAtLine { get; set; }

    public void RequestKill() => _killRequested = true;
}

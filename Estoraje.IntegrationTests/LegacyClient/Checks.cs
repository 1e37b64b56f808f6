/// <summary>
/// What a client program the tests run does around its checks: reads the server's port from its arguments, counts
/// the checks that fail (saying which), and ends with a summary line and exit code 0 when every check passed.
/// Shared by the programs in LegacyClient and LegacyCache.
/// </summary>
internal sealed class Checks(string program)
{
    private int _failures;

    /// <summary>The port given as the first argument; false, after printing the usage, when there is none.</summary>
    public static bool TryReadPort(string[] args, string program, out int port)
    {
        if (args.Length >= 1 && int.TryParse(args[0], out port))
            return true;
        Console.Error.WriteLine($"usage: {program} <port> [port of a node whose statistics count...]");
        port = 0;
        return false;
    }

    public void That(bool ok, string what)
    {
        if (ok)
            return;
        _failures++;
        Console.Error.WriteLine("FAILED: " + what);
    }

    /// <summary>Prints the summary and returns the exit code.</summary>
    public int Report()
    {
        Console.WriteLine(_failures == 0 ? $"{program}: all checks passed" : $"{program}: {_failures} checks failed");
        return _failures == 0 ? 0 : 1;
    }
}

namespace Estoraje.Server.Commands;

/// <summary>Redis's error replies, word for word.</summary>
internal static class Errors
{
    public const string Syntax = "ERR syntax error";
    public const string NotInteger = "ERR value is not an integer or out of range";
    // Redis's getIntFromObjectOrReply, typo included.
    public const string NotInt32 = "ERR value is out of range, value must between -2147483648 and 2147483647";
    public const string NotFloat = "ERR value is not a valid float";
    public const string WrongType = "WRONGTYPE Operation against a key holding the wrong kind of value";
    public const string NoSuchKey = "ERR no such key";
    public const string Overflow = "ERR increment or decrement would overflow";
    public const string NaNOrInfinity = "ERR increment would produce NaN or Infinity";
    public const string NoAuth = "NOAUTH Authentication required.";
    public const string WrongPass = "WRONGPASS invalid username-password pair or user is disabled.";
    public const string StringTooLong = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
    public const string OffsetOutOfRange = "ERR offset is out of range";
    public const string DbIndexOutOfRange = "ERR DB index is out of range";
    public const string InvalidCursor = "ERR invalid cursor";
    public const string SameObject = "ERR source and destination objects are the same";
    // Redis's getPositiveLongFromObjectOrReply without a message of its own (LPOP, SPOP counts).
    public const string MustBePositive = "ERR value is out of range, must be positive";
    // Redis's getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX), for counts whose sign has a meaning.
    public const string NotLongMagnitude = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
    /// <summary>Redis's reply to writes after its AOF could not be written.</summary>
    public static string DiskError(string reason) => $"MISCONF Errors writing to the AOF file: {reason}";

    /// <summary>Redis's CLUSTER COUNTKEYSINSLOT error for a slot outside 0..16383.</summary>
    public const string InvalidSlot = "ERR Invalid or out of range slot";

    public const string Loading = "LOADING Redis is loading the dataset in memory";

    public static string InvalidExpireTime(string command) => $"ERR invalid expire time in '{command}' command";

    public static string WrongArity(string command) => $"ERR wrong number of arguments for '{command}' command";

    public static string UnknownSubcommand(string subcommand, string command) =>
        $"ERR unknown subcommand '{Truncate(subcommand, 128)}'. Try {command.ToUpperInvariant()} HELP.";

    public static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];
}

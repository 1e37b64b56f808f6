using System.Text;

namespace Estoraje.Resp;

/// <summary>
/// One framed command: its arguments as spans over the connection's buffer. Valid only until the
/// buffer is advanced or the parser is called again, hence a <c>ref struct</c>.
/// </summary>
public readonly ref struct RespRequest
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly ReadOnlySpan<ArgSlot> _args;

    internal RespRequest(ReadOnlySpan<byte> data, ReadOnlySpan<ArgSlot> args)
    {
        _data = data;
        _args = args;
    }

    /// <summary>Number of arguments, the command name included.</summary>
    public int Count => _args.Length;

    /// <summary>Argument <paramref name="index"/> (0 is the command name).</summary>
    public ReadOnlySpan<byte> this[int index]
    {
        get
        {
            var slot = _args[index];
            return _data.Slice(slot.Start, slot.Length);
        }
    }

    /// <summary>Whether argument <paramref name="index"/> equals <paramref name="upperAscii"/>, ignoring ASCII case.</summary>
    /// <param name="index">Argument position.</param>
    /// <param name="upperAscii">The expected text in upper case.</param>
    public bool Is(int index, ReadOnlySpan<byte> upperAscii) => Ascii.EqualsIgnoreCase(this[index], upperAscii);

    /// <summary>Copies argument <paramref name="index"/> into a new array (for storage).</summary>
    public byte[] ToArray(int index) => this[index].ToArray();

    /// <summary>Argument <paramref name="index"/> decoded as UTF-8 (for errors and logs, not the hot path).</summary>
    public string GetString(int index) => Encoding.UTF8.GetString(this[index]);
}

/// <summary>Where one argument sits in the framed request.</summary>
internal readonly record struct ArgSlot(int Start, int Length);

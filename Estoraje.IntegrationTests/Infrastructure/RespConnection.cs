using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Estoraje.IntegrationTests.Infrastructure;

/// <summary>
/// A raw loopback socket speaking RESP by hand, for exact-byte checks: send any bytes, read back exactly one
/// reply (RESP2 or RESP3 framing) or exactly n bytes, or wait for the server to close the connection. Every
/// read has a deadline.
/// </summary>
public sealed class RespConnection : IAsyncDisposable
{
    /// <summary>How long a read waits before failing the test.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    private readonly Socket _socket;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RespConnection(Socket socket) => _socket = socket;

    /// <summary>Text of bytes, one char per byte: what assertions compare.</summary>
    public static Encoding Bytes { get; } = Encoding.Latin1;

    public static async Task<RespConnection> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var cts = new CancellationTokenSource(DefaultTimeout);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            return new RespConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A command as a RESP multibulk request.</summary>
    public static byte[] Encode(params string[] arguments)
    {
        var text = new StringBuilder();
        text.Append('*').Append(arguments.Length).Append("\r\n");
        foreach (var argument in arguments)
            text.Append('$').Append(Encoding.UTF8.GetByteCount(argument)).Append("\r\n").Append(argument).Append("\r\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        using var cts = new CancellationTokenSource(DefaultTimeout);
        await _socket.SendAsync(bytes, SocketFlags.None, cts.Token);
    }

    /// <summary>Sends <paramref name="text"/> as is (one byte per char), e.g. an inline command or a broken frame.</summary>
    public Task SendAsync(string text) => SendAsync(Bytes.GetBytes(text));

    /// <summary>Sends one command and returns its reply as text.</summary>
    public async Task<string> CommandAsync(params string[] arguments)
    {
        await SendAsync(Encode(arguments));
        return await ReadReplyAsync();
    }

    /// <summary>Reads exactly one reply (nested aggregates included) and returns its bytes as text.</summary>
    public async Task<string> ReadReplyAsync(TimeSpan? timeout = null) => Bytes.GetString(await ReadReplyBytesAsync(timeout));

    public async Task<byte[]> ReadReplyBytesAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var reply = new MemoryStream();
        await ReadValueAsync(reply, cts.Token);
        return reply.ToArray();
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes.</summary>
    public async Task<string> ReadExactlyAsync(int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var result = new MemoryStream();
        await TakeAsync(count, result, cts.Token);
        return Bytes.GetString(result.ToArray());
    }

    /// <summary>
    /// Waits until the server closes the connection; returns whatever it sent before closing (empty when it
    /// closed right away). Fails with <see cref="TimeoutException"/> if the connection stays open.
    /// </summary>
    public async Task<string> ReadUntilClosedAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var rest = new StringBuilder(Bytes.GetString(_buffer, _start, _end - _start));
        _start = _end = 0;
        try
        {
            while (true)
            {
                var n = await _socket.ReceiveAsync(_buffer.AsMemory(), SocketFlags.None, cts.Token);
                if (n == 0)
                    return rest.ToString();
                rest.Append(Bytes.GetString(_buffer, 0, n));
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return rest.ToString();
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The server kept the connection open; it sent: {Escape(rest.ToString())}");
        }
    }

    /// <summary>Waits until the server has loaded its store: PING stops answering -LOADING (30 s at most).</summary>
    public async Task WaitUntilLoadedAsync()
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while ((await CommandAsync("PING")).StartsWith("-LOADING", StringComparison.Ordinal))
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "the store did not finish loading");
            await Task.Delay(20);
        }
    }

    /// <summary>Closes the socket at once, whatever was half sent.</summary>
    public void Abort() => _socket.Close(0);

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Reply text with CR, LF and control bytes made visible, for failure messages.</summary>
    public static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            sb.Append(c switch
            {
                '\r' => "\\r",
                '\n' => "\\n",
                < ' ' or > '~' => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        }

        return sb.ToString();
    }

    private async Task ReadValueAsync(MemoryStream reply, CancellationToken cancellationToken)
    {
        var line = await ReadLineAsync(reply, cancellationToken);
        var type = line[0];
        switch (type)
        {
            case '+' or '-' or ':' or '_' or '#' or ',' or '(':
                return;
            case '$' or '=' or '!':
            {
                var length = long.Parse(line.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
                if (length >= 0)
                    await TakeAsync(checked((int)length + 2), reply, cancellationToken);
                return;
            }

            case '*' or '~' or '>' or '%' or '|':
            {
                var count = long.Parse(line.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
                var elements = type is '%' or '|' ? count * 2 : count;
                for (var i = 0L; i < elements; i++)
                    await ReadValueAsync(reply, cancellationToken);
                // An attribute annotates the value that follows it.
                if (type == '|')
                    await ReadValueAsync(reply, cancellationToken);
                return;
            }

            default:
                throw new InvalidDataException($"Not a RESP reply: {Escape(line)}");
        }
    }

    // One header line without its CRLF; the line and the CRLF go to the reply.
    private async Task<string> ReadLineAsync(MemoryStream reply, CancellationToken cancellationToken)
    {
        while (true)
        {
            for (var i = _start + 1; i < _end; i++)
            {
                if (_buffer[i] != (byte)'\n' || _buffer[i - 1] != (byte)'\r')
                    continue;
                var line = Bytes.GetString(_buffer, _start, i - 1 - _start);
                if (line.Length == 0)
                    throw new InvalidDataException("An empty line where a RESP reply should start.");
                reply.Write(_buffer, _start, i + 1 - _start);
                _start = i + 1;
                return line;
            }

            await FillAsync(cancellationToken);
        }
    }

    private async Task TakeAsync(int count, MemoryStream destination, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            if (_start == _end)
                await FillAsync(cancellationToken);
            var n = Math.Min(count, _end - _start);
            destination.Write(_buffer, _start, n);
            _start += n;
            count -= n;
        }
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
            Array.Resize(ref _buffer, _buffer.Length * 2);

        int n;
        try
        {
            n = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No complete reply in time; unread: {Escape(Bytes.GetString(_buffer, 0, _end))}");
        }

        if (n == 0)
            throw new EndOfStreamException($"The server closed the connection; unread: {Escape(Bytes.GetString(_buffer, 0, _end))}");
        _end += n;
    }
}

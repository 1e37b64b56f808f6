using Estoraje.Resp;
using Estoraje.Server.Network;

namespace Estoraje.Server.Commands;

/// <summary>PING, ECHO, HELLO, AUTH, QUIT, RESET, SELECT.</summary>
internal static class ConnectionCommands
{
    /// <summary>The Redis version reported to clients: they enable commands by it (7.2 has CLIENT SETINFO, GETEX...).</summary>
    public const string RedisVersion = "7.2.4";

    public static void Ping(ClientSession client, RespRequest request)
    {
        if (request.Count > 2)
        {
            client.Writer.WriteError(Errors.WrongArity("ping"));
        }
        else if (client.PubSub is { IsSubscribed: true } && !client.Writer.IsResp3)
        {
            // Subscribed RESP2 clients expect arrays only: ["pong", message or ""].
            client.Writer.WriteArrayHeader(2);
            client.Writer.WriteBulkString("pong"u8);
            client.Writer.WriteBulkString(request.Count == 2 ? request[1] : []);
        }
        else if (request.Count == 2)
        {
            client.Writer.WriteBulkString(request[1]);
        }
        else
        {
            client.Writer.WriteRaw("+PONG\r\n"u8);
        }
    }

    public static void Echo(ClientSession client, RespRequest request) => client.Writer.WriteBulkString(request[1]);

    public static void Hello(ClientSession client, RespRequest request)
    {
        var protocol = client.Writer.Protocol;
        if (request.Count >= 2)
        {
            if (!RespInteger.TryParse(request[1], out var version))
            {
                client.Writer.WriteError("ERR Protocol version is not an integer or out of range");
                return;
            }

            if (version is < 2 or > 3)
            {
                client.Writer.WriteError("NOPROTO unsupported protocol version");
                return;
            }

            protocol = (int)version;
        }

        var userIndex = -1;
        var nameIndex = -1;
        for (var i = 2; i < request.Count; i++)
        {
            var more = request.Count - i - 1;
            if (request.Is(i, "AUTH"u8) && more >= 2)
            {
                userIndex = i + 1;
                i += 2;
            }
            else if (request.Is(i, "SETNAME"u8) && more >= 1)
            {
                nameIndex = ++i;
            }
            else
            {
                client.Writer.WriteError($"ERR Syntax error in HELLO option '{request.GetString(i)}'");
                return;
            }
        }

        if (userIndex < 0 && !client.Authenticated)
        {
            client.Writer.WriteError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
            return;
        }

        if (userIndex >= 0 && !TryAuthenticate(client, request[userIndex], request[userIndex + 1]))
        {
            client.Writer.WriteError(Errors.WrongPass);
            return;
        }

        if (nameIndex >= 0 && !ClientCommands.TrySetName(client, request[nameIndex]))
            return;

        client.Writer.Protocol = protocol;
        var writer = client.Writer;
        writer.WriteMapHeader(7);
        writer.WriteBulkString("server");
        writer.WriteBulkString("redis");
        writer.WriteBulkString("version");
        writer.WriteBulkString(RedisVersion);
        writer.WriteBulkString("proto");
        writer.WriteInteger(protocol);
        writer.WriteBulkString("id");
        writer.WriteInteger(client.Id);
        writer.WriteBulkString("mode");
        writer.WriteBulkString("standalone");
        writer.WriteBulkString("role");
        writer.WriteBulkString("master");
        writer.WriteBulkString("modules");
        writer.WriteArrayHeader(0);
    }

    public static void Auth(ClientSession client, RespRequest request)
    {
        if (request.Count > 3)
        {
            client.Writer.WriteError(Errors.Syntax);
            return;
        }

        if (request.Count == 2 && string.IsNullOrEmpty(client.Server.RequirePass))
        {
            client.Writer.WriteError("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
            return;
        }

        var user = request.Count == 3 ? request[1] : "default"u8;
        if (TryAuthenticate(client, user, request[request.Count - 1]))
            client.Writer.WriteOk();
        else
            client.Writer.WriteError(Errors.WrongPass);
    }

    public static void Quit(ClientSession client, RespRequest request)
    {
        client.Writer.WriteOk();
        client.CloseAfterReply = true;
    }

    public static void Reset(ClientSession client, RespRequest request)
    {
        client.Transaction.Discard();
        if (client.PubSub is { } subscriber)
        {
            client.Server.PubSub.RemoveAll(subscriber);
            // Messages that were on their way still come before +RESET, in the protocol they were sent for.
            if (subscriber.HasPending)
                subscriber.Drain(client.Writer);
        }

        client.Writer.Protocol = 2;
        client.Name = "";
        client.NoEvict = false;
        client.NoTouch = false;
        client.SetAuthenticated(string.IsNullOrEmpty(client.Server.RequirePass));
        client.Writer.WriteSimpleString("RESET");
    }

    public static void Select(ClientSession client, RespRequest request)
    {
        if (!RespInteger.TryParse(request[1], out var db))
            client.Writer.WriteError(Errors.NotInteger);
        else if (db is < int.MinValue or > int.MaxValue)
            client.Writer.WriteError(Errors.NotInt32);
        else if (db != 0)
            client.Writer.WriteError(Errors.DbIndexOutOfRange);
        else
            client.Writer.WriteOk();
    }

    // The single "default" user: any password when none is configured, else requirepass.
    private static bool TryAuthenticate(ClientSession client, ReadOnlySpan<byte> user, ReadOnlySpan<byte> password)
    {
        var required = client.Server.RequirePass;
        var ok = user.SequenceEqual("default"u8) &&
                 (string.IsNullOrEmpty(required) ||
                  System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(password, System.Text.Encoding.UTF8.GetBytes(required)));
        if (ok)
            client.SetAuthenticated(true);
        return ok;
    }
}

using System.Text;
using Estoraje.Resp;
using Estoraje.Server.Network;

namespace Estoraje.Server.Commands;

/// <summary>The CLIENT subcommands.</summary>
internal static class ClientCommands
{
    public static void Id(ClientSession client, RespRequest request) => client.Writer.WriteInteger(client.Id);

    public static void SetName(ClientSession client, RespRequest request)
    {
        if (TrySetName(client, request[2]))
            client.Writer.WriteOk();
    }

    public static void GetName(ClientSession client, RespRequest request)
    {
        if (client.Name.Length == 0)
            client.Writer.WriteNull();
        else
            client.Writer.WriteBulkString(client.Name);
    }

    public static void SetInfo(ClientSession client, RespRequest request)
    {
        var value = request[3];
        var isName = request.Is(2, "LIB-NAME"u8);
        if (!isName && !request.Is(2, "LIB-VER"u8))
        {
            client.Writer.WriteError($"ERR Unrecognized option '{request.GetString(2)}'");
            return;
        }

        if (!IsValidName(value))
        {
            client.Writer.WriteError($"ERR {(isName ? "lib-name" : "lib-ver")} cannot contain spaces, newlines or special characters.");
            return;
        }

        if (isName)
            client.LibName = Encoding.UTF8.GetString(value);
        else
            client.LibVersion = Encoding.UTF8.GetString(value);
        client.Writer.WriteOk();
    }

    public static void List(ClientSession client, RespRequest request)
    {
        HashSet<long>? ids = null;
        string? type = null;
        for (var i = 2; i < request.Count; i++)
        {
            // As Redis: TYPE <type> alone, or ID followed by IDs only.
            if (request.Is(i, "TYPE"u8) && request.Count == 4)
            {
                i++;
                if (!(request.Is(i, "NORMAL"u8) || request.Is(i, "MASTER"u8) || request.Is(i, "REPLICA"u8) || request.Is(i, "PUBSUB"u8)))
                {
                    client.Writer.WriteError($"ERR Unknown client type '{request.GetString(i)}'");
                    return;
                }

                type = TypeFilter(request, i);
            }
            else if (request.Is(i, "ID"u8) && i + 1 < request.Count)
            {
                ids ??= [];
                for (i++; i < request.Count; i++)
                {
                    // Zero and negative IDs are valid and match nobody.
                    if (!RespInteger.TryParse(request[i], out var id))
                    {
                        client.Writer.WriteError("ERR Invalid client ID");
                        return;
                    }

                    ids.Add(id);
                }
            }
            else
            {
                client.Writer.WriteError(Errors.Syntax);
                return;
            }
        }

        var now = client.Server.NowMs;
        var text = new StringBuilder();
        foreach (var other in client.Server.Clients.Values.OrderBy(c => c.Id))
        {
            if ((ids is null || ids.Contains(other.Id)) && (type is null || type == TypeOf(other)))
                text.Append(other.Describe(now)).Append('\n');
        }

        client.Writer.WriteVerbatimString("txt", Encoding.UTF8.GetBytes(text.ToString()));
    }

    public static void Info(ClientSession client, RespRequest request) =>
        client.Writer.WriteVerbatimString("txt", Encoding.UTF8.GetBytes(client.Describe(client.Server.NowMs) + "\n"));

    public static void Kill(ClientSession client, RespRequest request)
    {
        // Old form: CLIENT KILL addr:port, replies +OK or an error.
        if (request.Count == 3)
        {
            var address = request.GetString(2);
            var target = client.Server.Clients.Values.FirstOrDefault(c => c.Address == address);
            if (target is null)
            {
                client.Writer.WriteError("ERR No such client");
                return;
            }

            client.Writer.WriteOk();
            Close(client, target);
            return;
        }

        long? id = null;
        string? addr = null, laddr = null, user = null, type = null;
        long maxAge = 0;
        var skipMe = true;
        for (var i = 2; i < request.Count; i += 2)
        {
            if (i + 1 >= request.Count)
            {
                client.Writer.WriteError(Errors.Syntax);
                return;
            }

            var value = request.GetString(i + 1);
            if (request.Is(i, "ID"u8))
            {
                if (!RespInteger.TryParse(request[i + 1], out var parsed) || parsed <= 0)
                {
                    client.Writer.WriteError("ERR client-id should be greater than 0");
                    return;
                }

                id = parsed;
            }
            else if (request.Is(i, "ADDR"u8))
            {
                addr = value;
            }
            else if (request.Is(i, "LADDR"u8))
            {
                laddr = value;
            }
            else if (request.Is(i, "USER"u8))
            {
                // "default" is the only user there is.
                if (value != "default")
                {
                    client.Writer.WriteError($"ERR No such user '{value}'");
                    return;
                }

                user = value;
            }
            else if (request.Is(i, "MAXAGE"u8))
            {
                if (!RespInteger.TryParse(request[i + 1], out maxAge))
                {
                    client.Writer.WriteError(Errors.NotInteger);
                    return;
                }
            }
            else if (request.Is(i, "TYPE"u8))
            {
                if (!(request.Is(i + 1, "NORMAL"u8) || request.Is(i + 1, "MASTER"u8) || request.Is(i + 1, "REPLICA"u8) ||
                      request.Is(i + 1, "SLAVE"u8) || request.Is(i + 1, "PUBSUB"u8)))
                {
                    client.Writer.WriteError($"ERR Unknown client type '{value}'");
                    return;
                }

                type = TypeFilter(request, i + 1);
            }
            else if (request.Is(i, "SKIPME"u8))
            {
                if (request.Is(i + 1, "YES"u8))
                {
                    skipMe = true;
                }
                else if (request.Is(i + 1, "NO"u8))
                {
                    skipMe = false;
                }
                else
                {
                    client.Writer.WriteError(Errors.Syntax);
                    return;
                }
            }
            else
            {
                client.Writer.WriteError(Errors.Syntax);
                return;
            }
        }

        var now = client.Server.NowMs;
        var victims = client.Server.Clients.Values.Where(c =>
            (id is null || c.Id == id) &&
            (addr is null || c.Address == addr) &&
            (laddr is null || c.LocalAddress == laddr) &&
            (user is null || user == "default") &&
            (type is null || type == TypeOf(c)) &&
            (maxAge == 0 || (now - c.CreatedAt) / 1000 >= maxAge) &&
            !(skipMe && c == client)).ToList();
        client.Writer.WriteInteger(victims.Count);
        foreach (var victim in victims)
            Close(client, victim);
    }

    public static void NoEvict(ClientSession client, RespRequest request)
    {
        if (TryOnOff(client, request, out var on))
        {
            client.NoEvict = on;
            client.Writer.WriteOk();
        }
    }

    public static void NoTouch(ClientSession client, RespRequest request)
    {
        if (TryOnOff(client, request, out var on))
        {
            client.NoTouch = on;
            client.Writer.WriteOk();
        }
    }

    public static void Help(ClientSession client, RespRequest request) => ServerCommands.WriteHelp(client, "CLIENT",
    [
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID, TYPE, USER, ADDR, LADDR, SKIPME, MAXAGE.",
        "LIST [options ...]",
        "    Return information about client connections. Options: TYPE, ID.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "NO-TOUCH (ON|OFF)",
        "    Will not touch LRU/LFU stats when this mode is on.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "SETINFO <option> <value>",
        "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
    ]);

    internal static bool TrySetName(ClientSession client, ReadOnlySpan<byte> name)
    {
        if (!IsValidName(name))
        {
            client.Writer.WriteError("ERR Client names cannot contain spaces, newlines or special characters.");
            return false;
        }

        client.Name = Encoding.UTF8.GetString(name);
        return true;
    }

    private static bool IsValidName(ReadOnlySpan<byte> name)
    {
        foreach (var c in name)
        {
            if (c is < (byte)'!' or > (byte)'~')
                return false;
        }

        return true;
    }

    private static bool TryOnOff(ClientSession client, RespRequest request, out bool on)
    {
        on = request.Is(2, "ON"u8);
        if (on || request.Is(2, "OFF"u8))
            return true;
        client.Writer.WriteError(Errors.Syntax);
        return false;
    }

    // Redis's client types: a connection in subscribed mode is "pubsub", any other "normal"; no connection here is
    // a master or a replica.
    private static string TypeOf(ClientSession client) => client.PubSub is { IsSubscribed: true } ? "pubsub" : "normal";

    private static string TypeFilter(RespRequest request, int index) =>
        request.Is(index, "NORMAL"u8) ? "normal" : request.Is(index, "PUBSUB"u8) ? "pubsub" : "none";

    private static void Close(ClientSession self, ClientSession target)
    {
        // Killing oneself: the reply goes out first, then the connection closes.
        if (target == self)
            self.CloseAfterReply = true;
        else
            target.Kill();
    }
}

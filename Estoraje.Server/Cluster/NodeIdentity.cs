using System.Net;
using System.Security.Cryptography;
using Estoraje.Server.Hosting;

namespace Estoraje.Server.Cluster;

/// <summary>Who this node is: its id and the addresses it advertises to clients and peers.</summary>
internal sealed record NodeIdentity(string Id, string ClientAddress, string PeerAddress)
{
    /// <summary>File in the data directory that keeps a generated node id across restarts.</summary>
    public const string IdFileName = "node-id";

    /// <summary>
    /// The id from <c>--node-id</c>; else, in a cluster, the one persisted in <c>--dir</c> (generated and written on
    /// first start, so a restarted node keeps its slots); else a fresh one: a standalone node writes no files.
    /// </summary>
    /// <exception cref="IOException">The id file cannot be read or written, or holds an invalid id.</exception>
    public static NodeIdentity Resolve(ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var id = options.NodeId;
        if (id.Length == 0)
            id = options.IsClustered ? LoadOrCreateId(options.Dir) : NewId();

        var host = AdvertisedHost(options);
        return new NodeIdentity(id, HostPort(host, options.Port), HostPort(host, options.EffectivePeerPort));
    }

    /// <summary>Letters, digits, '.', '_' and '-', 1 to 64 of them: safe in an etcd key, a log line and a reply.</summary>
    public static bool IsValidId(string id)
    {
        if (id.Length is 0 or > 64)
            return false;
        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
                return false;
        }

        return true;
    }

    /// <summary>12 random hex digits: short enough to read in redis-cli, 48 bits against collisions.</summary>
    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    private static string LoadOrCreateId(string dir)
    {
        var path = Path.Combine(dir, IdFileName);
        if (File.Exists(path))
        {
            var stored = File.ReadAllText(path).Trim();
            return IsValidId(stored) ? stored : throw new IOException($"{path} holds '{stored}', which is not a valid node id.");
        }

        Directory.CreateDirectory(dir);
        var id = NewId();
        // Written aside and moved into place: a crash mid-write never leaves a truncated id behind.
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, id + "\n");
        File.Move(temporary, path, overwrite: true);
        return id;
    }

    private static string AdvertisedHost(ServerOptions options)
    {
        if (options.AdvertiseAddr.Length > 0)
            return options.AdvertiseAddr;
        var first = options.Bind.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "127.0.0.1";
        // A wildcard bind says nothing about how others reach us: the host name is the best guess.
        return first is "0.0.0.0" or "::" or "*" ? Dns.GetHostName() : first;
    }

    private static string HostPort(string host, int port) =>
        IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{host}]:{port}"
            : $"{host}:{port}";
}

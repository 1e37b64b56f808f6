using System.Globalization;
using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>Starts Estoraje nodes that join a cluster through etcd, and reads what they see through ESTORAJE and INFO.</summary>
public static class ClusterNodes
{
    /// <summary>Lease TTL the tests run with: short, so that a killed node leaves quickly.</summary>
    public const int LeaseTtlSeconds = 2;

    /// <summary>Starts a node of <paramref name="cluster"/> with its data in <paramref name="dir"/>.</summary>
    public static Task<EstorajeServerProcess> StartAsync(string etcd, string cluster, string dir, params string[] extra) =>
        EstorajeServerProcess.StartAsync(
        [
            "--etcd", etcd, "--cluster-name", cluster, "--dir", dir,
            "--lease-ttl", LeaseTtlSeconds.ToString(CultureInfo.InvariantCulture),
            // Its own free port: port + 10000 can be taken, or past 65535 for a high ephemeral port.
            "--peer-port", ServerProcess.FreePort().ToString(CultureInfo.InvariantCulture), .. extra,
        ]);

    /// <summary>A fresh data directory under the temp folder; the caller deletes it.</summary>
    public static string NewDataDir() => Directory.CreateTempSubdirectory("estoraje-node-").FullName;

    public static async Task<object?> CommandAsync(int port, params string[] command)
    {
        await using var connection = await RespConnection.ConnectAsync(port);
        return RespReply.Parse(await connection.CommandAsync(command));
    }

    /// <summary>ESTORAJE MEMBERS as one dictionary per member.</summary>
    public static async Task<List<Dictionary<string, object?>>> MembersAsync(int port)
    {
        var reply = await CommandAsync(port, "ESTORAJE", "MEMBERS");
        return [.. ((List<object?>)reply!).Select(RespReply.AsMap)];
    }

    /// <summary>Ids ESTORAJE MEMBERS lists, sorted.</summary>
    public static async Task<List<string>> MemberIdsAsync(int port) =>
        [.. (await MembersAsync(port)).Select(m => (string)m["id"]!).Order(StringComparer.Ordinal)];

    /// <summary>One field of INFO's cluster section.</summary>
    public static async Task<string> InfoAsync(int port, string field)
    {
        var text = (string)(await CommandAsync(port, "INFO", "cluster"))!;
        foreach (var line in text.Split("\r\n"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return line[(field.Length + 1)..];
        }

        throw new InvalidOperationException($"INFO cluster has no '{field}': {text}");
    }

    public static Task<string> NodeIdAsync(int port) => InfoAsync(port, "estoraje_node_id");

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="describe"/> at the deadline.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<Task<string>> describe)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Not within {timeout}: {await describe()}");
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
    }

    /// <summary>
    /// Waits until every node in <paramref name="nodes"/> lists exactly <paramref name="expected"/>, all ready (a
    /// node that joins a running cluster is <c>joining</c> until it has pulled its slots).
    /// </summary>
    public static Task AllSeeAsync(IReadOnlyList<EstorajeServerProcess> nodes, IReadOnlyCollection<string> expected, TimeSpan timeout)
    {
        var sorted = expected.Order(StringComparer.Ordinal).ToList();
        return EventuallyAsync(
            async () =>
            {
                foreach (var node in nodes)
                {
                    var members = await MembersAsync(node.Port);
                    if (!members.Select(m => (string)m["id"]!).Order(StringComparer.Ordinal).SequenceEqual(sorted) ||
                        members.Any(m => (string)m["state"]! != "ready"))
                        return false;
                }

                return true;
            },
            timeout,
            async () =>
            {
                var seen = new List<string>();
                foreach (var node in nodes)
                    seen.Add($"port {node.Port} sees [{string.Join(' ', (await MembersAsync(node.Port)).Select(m => $"{m["id"]}={m["state"]}"))}]");
                return $"expected [{string.Join(' ', sorted)}]; {string.Join("; ", seen)}";
            });
    }

    public static void DeleteDir(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone.
        }
    }
}

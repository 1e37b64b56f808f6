using Estoraje.Server.Cluster;
using Estoraje.Server.Hosting;

namespace Estoraje.Tests.Server;

public sealed class NodeIdentityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("estoraje-id-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_clustered_node_generates_its_id_once_and_reads_it_back_after_a_restart()
    {
        var options = new ServerOptions { Etcd = "http://127.0.0.1:2379", Dir = _dir, Port = 7000 };
        var first = NodeIdentity.Resolve(options);
        var second = NodeIdentity.Resolve(options);
        Assert.Equal(first.Id, second.Id);
        Assert.Equal(first.Id, File.ReadAllText(Path.Combine(_dir, NodeIdentity.IdFileName)).Trim());
        Assert.True(NodeIdentity.IsValidId(first.Id));
    }

    [Fact]
    public void A_standalone_node_writes_no_id_file()
    {
        NodeIdentity.Resolve(new ServerOptions { Dir = _dir });
        Assert.False(File.Exists(Path.Combine(_dir, NodeIdentity.IdFileName)));
    }

    [Fact]
    public void Node_id_flag_wins_over_the_file_and_addresses_default_to_the_bind_address_and_port_plus_10000()
    {
        File.WriteAllText(Path.Combine(_dir, NodeIdentity.IdFileName), "from-file\n");
        var identity = NodeIdentity.Resolve(new ServerOptions { Etcd = "http://e:2379", Dir = _dir, NodeId = "n1", Port = 7000, Bind = "10.0.0.5 127.0.0.1" });
        Assert.Equal(new NodeIdentity("n1", "10.0.0.5:7000", "10.0.0.5:17000"), identity);
    }

    [Fact]
    public void Advertise_address_and_peer_port_replace_the_defaults_and_ipv6_gets_brackets()
    {
        var identity = NodeIdentity.Resolve(new ServerOptions { NodeId = "n1", Port = 7000, PeerPort = 7100, AdvertiseAddr = "::1" });
        Assert.Equal("[::1]:7000", identity.ClientAddress);
        Assert.Equal("[::1]:7100", identity.PeerAddress);
    }

    [Fact]
    public void A_corrupt_id_file_is_refused()
    {
        File.WriteAllText(Path.Combine(_dir, NodeIdentity.IdFileName), "not a valid id\n");
        Assert.Throws<IOException>(() => NodeIdentity.Resolve(new ServerOptions { Etcd = "http://e:2379", Dir = _dir }));
    }

    [Theory]
    [InlineData("a1", true)]
    [InlineData("node-1.zone_a", true)]
    [InlineData("", false)]
    [InlineData("a/b", false)]
    [InlineData("a b", false)]
    public void Ids_are_letters_digits_dots_dashes_and_underscores(string id, bool valid) =>
        Assert.Equal(valid, NodeIdentity.IsValidId(id));
}

public sealed class ClusterOptionsTests
{
    [Fact]
    public void Defaults_are_valid_with_a_majority_write_quorum() =>
        Assert.Multiple(
            () => Assert.Null(new ServerOptions().ValidateCluster()),
            () => Assert.Equal(2, new ServerOptions().EffectiveWriteQuorum),
            () => Assert.Equal(3, new ServerOptions { Replicas = 5 }.EffectiveWriteQuorum),
            () => Assert.Equal(16379, new ServerOptions().EffectivePeerPort));

    [Theory]
    [InlineData(0, 0, 5, "http://e:2379", "--replicas")]
    [InlineData(3, 4, 5, "http://e:2379", "--write-quorum")]
    [InlineData(3, 0, 0, "http://e:2379", "--lease-ttl")]
    [InlineData(3, 0, 5, "e:2379", "--etcd")]
    public void Invalid_cluster_settings_are_named_in_the_message(int replicas, int quorum, int ttl, string etcd, string flag)
    {
        var error = new ServerOptions { Replicas = replicas, WriteQuorum = quorum, LeaseTtl = ttl, Etcd = etcd }.ValidateCluster();
        Assert.NotNull(error);
        Assert.Contains(flag, error, StringComparison.Ordinal);
    }
}

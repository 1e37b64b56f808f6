using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests.Cluster;

/// <summary>Without <c>--etcd</c> a node is a ring of one: ESTORAJE and INFO say so.</summary>
public sealed class StandaloneEstorajeTests(EstorajeFixture fixture) : IClassFixture<EstorajeFixture>
{
    [Fact]
    public async Task A_standalone_node_lists_itself_as_the_only_member_holding_every_slot()
    {
        var id = await ClusterNodes.NodeIdAsync(fixture.Port);
        var member = Assert.Single(await ClusterNodes.MembersAsync(fixture.Port));
        Assert.Equal(id, member["id"]);
        Assert.Equal($"127.0.0.1:{fixture.Port}", member["client-address"]);
        Assert.Equal(1L, member["self"]);
        Assert.Equal(16384L, member["primary-slots"]);
        Assert.Equal(0L, member["replica-slots"]);

        var located = RespReply.AsMap(await ClusterNodes.CommandAsync(fixture.Port, "ESTORAJE", "LOCATE", "foo"));
        Assert.Equal(12182L, located["slot"]);
        Assert.Equal(id, located["primary"]);
        Assert.Empty((List<object?>)located["replicas"]!);
    }

    [Fact]
    public async Task Info_cluster_says_standalone_with_epoch_zero()
    {
        Assert.Equal("0", await ClusterNodes.InfoAsync(fixture.Port, "cluster_enabled"));
        Assert.Equal("standalone", await ClusterNodes.InfoAsync(fixture.Port, "estoraje_mode"));
        Assert.Equal("1", await ClusterNodes.InfoAsync(fixture.Port, "estoraje_members"));
        Assert.Equal("0", await ClusterNodes.InfoAsync(fixture.Port, "estoraje_epoch"));
        Assert.Equal("1", await ClusterNodes.InfoAsync(fixture.Port, "estoraje_registered"));
    }

    [Fact]
    public async Task Estoraje_with_a_wrong_subcommand_or_arity_gets_redis_errors()
    {
        await using var connection = await RespConnection.ConnectAsync(fixture.Port);
        Assert.StartsWith("-ERR unknown subcommand 'NOPE'", await connection.CommandAsync("ESTORAJE", "NOPE"));
        Assert.Equal("-ERR wrong number of arguments for 'estoraje|locate' command\r\n", await connection.CommandAsync("ESTORAJE", "LOCATE"));
        Assert.Equal("+PONG\r\n", await connection.CommandAsync("PING"));
    }
}

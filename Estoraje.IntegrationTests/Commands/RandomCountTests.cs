using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests.Commands;

/// <summary>
/// HRANDFIELD, SRANDMEMBER and ZRANDMEMBER with a huge negative count (repeats allowed): Redis streams that many elements;
/// Estoraje builds a reply in memory, so it refuses more than 16,777,216 and stays up.
/// </summary>
public sealed class RandomCountTests(EstorajeFixture server) : IClassFixture<EstorajeFixture>
{
    [Fact]
    public async Task A_count_past_the_limit_is_refused_and_the_connection_goes_on()
    {
        await using var client = await RespConnection.ConnectAsync(server.Port);
        Assert.Equal(":1\r\n", await client.CommandAsync("HSET", "rc:h", "f", "v"));
        Assert.Equal(":1\r\n", await client.CommandAsync("ZADD", "rc:z", "1", "m"));
        Assert.Equal(":1\r\n", await client.CommandAsync("SADD", "rc:s", "m"));

        const string Refused = "-ERR value is out of range, at most 16777216 elements are returned\r\n";
        Assert.Equal(Refused, await client.CommandAsync("HRANDFIELD", "rc:h", "-16777217"));
        Assert.Equal(Refused, await client.CommandAsync("ZRANDMEMBER", "rc:z", "-9000000000000", "WITHSCORES"));
        Assert.Equal(Refused, await client.CommandAsync("SRANDMEMBER", "rc:s", "-9223372036854775807"));

        // Below it the reply is whole (repeats of the one field).
        var reply = await client.CommandAsync("HRANDFIELD", "rc:h", "-100000");
        Assert.StartsWith("*100000\r\n$1\r\nf\r\n", reply, StringComparison.Ordinal);
        Assert.Equal("*100000\r\n".Length + 100000 * "$1\r\nf\r\n".Length, reply.Length);
        Assert.Equal("+PONG\r\n", await client.CommandAsync("PING"));
    }
}

using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests;

/// <summary>
/// MULTI/EXEC/WATCH on one node beyond what the byte-for-byte scripts against redis-server cover
/// (<see cref="CompatibilityTests"/>): expiry of a watched key, optimistic locking under contention, and
/// transactions that never interleave with each other.
/// </summary>
public sealed class TransactionTests(EstorajeFixture server) : IClassFixture<EstorajeFixture>
{
    [Theory]
    [InlineData("log")]
    [InlineData("memory")]
    public async Task A_watched_key_that_expires_before_exec_makes_exec_return_null(string storage)
    {
        await using var node = await EstorajeServerProcess.StartAsync("--storage", storage);
        await using var connection = await RespConnection.ConnectAsync(node.Port);
        // Watched while alive: it still lives after WATCH (on a slow machine, try again with a longer life).
        for (var ttl = 200; ; ttl *= 2)
        {
            Assert.True(ttl <= 12_800, "the key kept expiring before WATCH was answered");
            Assert.Equal("+OK\r\n", await connection.CommandAsync("SET", "expiring", "v", "PX", $"{ttl}"));
            Assert.Equal("+OK\r\n", await connection.CommandAsync("WATCH", "expiring"));
            if ((long)RespReply.Parse(await connection.CommandAsync("PTTL", "expiring"))! > 0)
                break;
            Assert.Equal("+OK\r\n", await connection.CommandAsync("UNWATCH"));
        }

        var expiresAt = (long)RespReply.Parse(await connection.CommandAsync("PEXPIRETIME", "expiring"))!;
        Assert.Equal("+OK\r\n", await connection.CommandAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await connection.CommandAsync("SET", "expiring", "new"));
        // Nothing touches the key meanwhile: only the clock passes its expiry.
        while (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() <= expiresAt + 1)
            await Task.Delay(TimeSpan.FromMilliseconds(20));

        Assert.Equal("*-1\r\n", await connection.CommandAsync("EXEC"));
        Assert.Equal("$-1\r\n", await connection.CommandAsync("GET", "expiring"));
        // EXEC unwatched it: the same transaction now runs.
        Assert.Equal("+OK\r\n", await connection.CommandAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await connection.CommandAsync("SET", "expiring", "new"));
        Assert.Equal("*1\r\n+OK\r\n", await connection.CommandAsync("EXEC"));
    }

    [Fact]
    public async Task Concurrent_optimistic_increments_end_with_the_number_of_successful_execs()
    {
        var succeeded = await OptimisticCounter.RunAsync(server.Port, "tx:counter", clients: 8, attempts: 60);

        Assert.InRange(succeeded, 60, 8 * 60);
        Assert.Equal(succeeded, await OptimisticCounter.ReadAsync(server.Port, "tx:counter"));
    }

    [Fact]
    public async Task Transactions_never_interleave_so_a_reading_transaction_sees_both_writes_or_neither()
    {
        const int Rounds = 300;
        await using (var setup = await RespConnection.ConnectAsync(server.Port))
            Assert.Equal("+OK\r\n", await setup.CommandAsync("MSET", "tx:{pair}a", "0", "tx:{pair}b", "0"));

        var writers = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            await using var connection = await RespConnection.ConnectAsync(server.Port);
            for (var i = 0; i < Rounds; i++)
            {
                await connection.SendAsync(Pipeline(["MULTI"], ["INCR", "tx:{pair}a"], ["INCR", "tx:{pair}b"], ["EXEC"]));
                Assert.Equal("+OK\r\n", await connection.ReadReplyAsync());
                Assert.Equal("+QUEUED\r\n", await connection.ReadReplyAsync());
                Assert.Equal("+QUEUED\r\n", await connection.ReadReplyAsync());
                Assert.StartsWith("*2\r\n:", await connection.ReadReplyAsync(), StringComparison.Ordinal);
            }
        })).ToList();
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            await using var connection = await RespConnection.ConnectAsync(server.Port);
            var torn = 0;
            for (var i = 0; i < Rounds; i++)
            {
                await connection.SendAsync(Pipeline(["MULTI"], ["GET", "tx:{pair}a"], ["GET", "tx:{pair}b"], ["EXEC"]));
                for (var reply = 0; reply < 3; reply++)
                    await connection.ReadReplyAsync();
                var values = (List<object?>)RespReply.Parse(await connection.ReadReplyAsync())!;
                if (!Equals(values[0], values[1]))
                    torn++;
            }

            return torn;
        })).ToList();

        await Task.WhenAll(writers);
        Assert.Equal(0, (await Task.WhenAll(readers)).Sum());
        await using var check = await RespConnection.ConnectAsync(server.Port);
        Assert.Equal($"*2\r\n$3\r\n{3 * Rounds}\r\n$3\r\n{3 * Rounds}\r\n", await check.CommandAsync("MGET", "tx:{pair}a", "tx:{pair}b"));
    }

    [Fact]
    public async Task Client_list_shows_a_connection_in_multi_and_its_queued_commands()
    {
        await using var connection = await RespConnection.ConnectAsync(server.Port);
        await using var observer = await RespConnection.ConnectAsync(server.Port);
        var id = (long)RespReply.Parse(await connection.CommandAsync("CLIENT", "ID"))!;

        Assert.Contains(" flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 ", await observer.CommandAsync("CLIENT", "LIST", "ID", $"{id}"), StringComparison.Ordinal);
        Assert.Equal("+OK\r\n", await connection.CommandAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await connection.CommandAsync("SET", "tx:listed", "1"));
        Assert.Contains(" flags=x db=0 sub=0 psub=0 ssub=0 multi=1 ", await observer.CommandAsync("CLIENT", "LIST", "ID", $"{id}"), StringComparison.Ordinal);
        Assert.Equal("*1\r\n+OK\r\n", await connection.CommandAsync("EXEC"));
        Assert.Contains(" flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 ", await observer.CommandAsync("CLIENT", "LIST", "ID", $"{id}"), StringComparison.Ordinal);
    }

    private static byte[] Pipeline(params string[][] commands) => [.. commands.SelectMany(RespConnection.Encode)];
}

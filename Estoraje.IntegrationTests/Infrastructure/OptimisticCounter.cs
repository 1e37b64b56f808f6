using System.Globalization;

namespace Estoraje.IntegrationTests.Infrastructure;

/// <summary>
/// The optimistic-locking increment Redis's documentation teaches: WATCH the key, GET it, then MULTI, SET it to
/// the value read plus one, EXEC. An EXEC that returns null lost a race and changed nothing. Many clients doing
/// it at once on one key must end with the key equal to the number of EXECs that succeeded.
/// </summary>
public static class OptimisticCounter
{
    /// <summary>
    /// Runs <paramref name="clients"/> connections to <paramref name="port"/>, each trying <paramref name="attempts"/>
    /// increments of <paramref name="key"/>; returns how many EXECs succeeded. Any reply other than the expected
    /// ones fails the test.
    /// </summary>
    public static async Task<int> RunAsync(int port, string key, int clients, int attempts)
    {
        var runs = Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            await using var connection = await RespConnection.ConnectAsync(port);
            var succeeded = 0;
            for (var i = 0; i < attempts; i++)
            {
                Assert.Equal("+OK\r\n", await connection.CommandAsync("WATCH", key));
                var current = RespReply.Parse(await connection.CommandAsync("GET", key)) as string;
                var next = (current is null ? 0 : long.Parse(current, CultureInfo.InvariantCulture)) + 1;
                Assert.Equal("+OK\r\n", await connection.CommandAsync("MULTI"));
                Assert.Equal("+QUEUED\r\n", await connection.CommandAsync("SET", key, next.ToString(CultureInfo.InvariantCulture)));
                var exec = await connection.CommandAsync("EXEC");
                if (exec == "*1\r\n+OK\r\n")
                    succeeded++;
                else
                    Assert.Equal("*-1\r\n", exec);
            }

            return succeeded;
        })).ToList();
        return (await Task.WhenAll(runs)).Sum();
    }

    /// <summary>The counter's value as <paramref name="port"/> reads it (0 when absent).</summary>
    public static async Task<long> ReadAsync(int port, string key)
    {
        await using var connection = await RespConnection.ConnectAsync(port);
        var value = RespReply.Parse(await connection.CommandAsync("GET", key)) as string;
        return value is null ? 0 : long.Parse(value, CultureInfo.InvariantCulture);
    }
}

using Estoraje.Server.Hosting;
using Microsoft.Extensions.Configuration;

namespace Estoraje.Tests.Server.Hosting;

/// <summary>The node's own settings (the cluster's: ClusterOptionsTests).</summary>
public sealed class ServerOptionsTests
{
    [Theory]
    [InlineData(-1, false)]
    [InlineData(0, true)]
    [InlineData(30, true)]
    [InlineData(1_000_000, true)]
    [InlineData(1_000_001, false)]
    public void A_busy_poll_time_is_from_0_to_a_second(int microseconds, bool valid)
    {
        var error = new ServerOptions { BusyPoll = microseconds }.ValidateNetwork();
        Assert.Equal(valid, error is null);
        if (!valid)
            Assert.Contains("--busy-poll", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new string[0], 30)]
    [InlineData(new[] { "--busy-poll", "0" }, 0)]
    [InlineData(new[] { "--busy-poll", "100" }, 100)]
    public void The_busy_poll_flag_sets_the_time_of_30_microseconds_by_default(string[] args, int microseconds)
    {
        var options = new ServerOptions();
        new ConfigurationBuilder().AddCommandLine(args, ServerOptions.SwitchMappings).Build().Bind(options);
        Assert.Equal(microseconds, options.BusyPoll);
    }
}

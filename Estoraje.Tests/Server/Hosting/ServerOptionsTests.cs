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

    [Theory]
    [InlineData("--proto-max-bulk-len", "2mb", 2L << 20)]
    [InlineData("--proto-max-bulk-len", "1048576", 1L << 20)]
    [InlineData("--client-query-buffer-limit", "1gb", 1L << 30)]
    [InlineData("--client-query-buffer-limit", "64k", 64_000)]
    public void Size_flags_take_bytes_or_Redis_units(string flag, string value, long bytes)
    {
        var configuration = new ConfigurationBuilder().AddCommandLine([flag, value], ServerOptions.SwitchMappings).Build();
        Assert.Null(ServerOptions.ConvertSizes(configuration));
        var options = new ServerOptions();
        configuration.Bind(options);
        Assert.Equal(bytes, flag == "--proto-max-bulk-len" ? options.ProtoMaxBulkLen : options.ClientQueryBufferLimit);
    }

    [Theory]
    [InlineData("--proto-max-bulk-len", "lots")]
    [InlineData("--client-query-buffer-limit", "-1mb")]
    public void A_size_flag_that_is_no_size_is_named_in_the_message(string flag, string value)
    {
        var configuration = new ConfigurationBuilder().AddCommandLine([flag, value], ServerOptions.SwitchMappings).Build();
        var error = ServerOptions.ConvertSizes(configuration);
        Assert.NotNull(error);
        Assert.Contains(flag, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_size_flags_the_defaults_stay()
    {
        var configuration = new ConfigurationBuilder().AddCommandLine([], ServerOptions.SwitchMappings).Build();
        Assert.Null(ServerOptions.ConvertSizes(configuration));
        var options = new ServerOptions();
        configuration.Bind(options);
        Assert.Equal((512L << 20, 1L << 30), (options.ProtoMaxBulkLen, options.ClientQueryBufferLimit));
    }
}

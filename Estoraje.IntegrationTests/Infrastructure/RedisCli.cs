using System.Diagnostics;
using System.Globalization;

namespace Estoraje.IntegrationTests.Infrastructure;

/// <summary>What one run of <c>redis-cli</c> printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Output, string Error);

/// <summary>Runs the real <c>redis-cli</c> (on the PATH) against a loopback port, with a deadline.</summary>
public static class RedisCli
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// <c>redis-cli -h 127.0.0.1 -p PORT ARGS...</c>; <paramref name="input"/> is written to its stdin, which is
    /// then closed (what <c>printf ... | redis-cli</c> does).
    /// </summary>
    public static async Task<CliResult> RunAsync(int port, byte[]? input, params string[] arguments)
    {
        var info = new ProcessStartInfo("redis-cli")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add("-h");
        info.ArgumentList.Add("127.0.0.1");
        info.ArgumentList.Add("-p");
        info.ArgumentList.Add(port.ToString(CultureInfo.InvariantCulture));
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        info.Environment.Remove("REDISCLI_AUTH");

        using var process = Process.Start(info) ?? throw new InvalidOperationException("redis-cli did not start.");
        try
        {
            using var cts = new CancellationTokenSource(s_timeout);
            var output = process.StandardOutput.ReadToEndAsync(cts.Token);
            var error = process.StandardError.ReadToEndAsync(cts.Token);
            if (input is not null)
                await process.StandardInput.BaseStream.WriteAsync(input, cts.Token);
            process.StandardInput.Close();
            await process.WaitForExitAsync(cts.Token);
            return new CliResult(process.ExitCode, await output, await error);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"redis-cli {string.Join(' ', arguments)} did not finish within {s_timeout}.");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }

    public static Task<CliResult> RunAsync(int port, params string[] arguments) => RunAsync(port, null, arguments);
}

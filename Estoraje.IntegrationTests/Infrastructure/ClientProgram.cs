using System.Diagnostics;
using System.Reflection;

namespace Estoraje.IntegrationTests.Infrastructure;

/// <summary>Runs a client program (node, a .NET console app) to completion with a deadline, capturing its output.</summary>
public static class ClientProgram
{
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string fileName, IEnumerable<string> arguments,
        string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await output, await error);
    }

    /// <summary>
    /// The dll of a client program built beside the tests (a folder of Estoraje.IntegrationTests holding a project of
    /// that name, built with them in the same configuration).
    /// </summary>
    public static string Built(string project)
    {
        var configuration = typeof(ClientProgram).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var dll = Path.Combine(dir.FullName, "Estoraje.IntegrationTests", project, "bin", configuration, "net10.0", project + ".dll");
            if (File.Exists(dll))
                return dll;
        }

        throw new FileNotFoundException($"{project}.dll is not built (it is built with Estoraje.IntegrationTests).");
    }
}

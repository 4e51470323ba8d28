using System.Diagnostics;

namespace Imprint.Tests.Infrastructure;

/// <summary>The `imprint` executable as a user runs it: a process of its own, its exit code and what it printed.</summary>
public static class ImprintCli
{
    public static async Task<(int Exit, string Out, string Err)> RunAsync(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "imprint.dll"));
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var ct = TestContext.Current.CancellationToken;
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var error = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return (process.ExitCode, await output, await error);
    }

    public static Task<(int Exit, string Out, string Err)> RunAsync(params string[] args) => RunAsync(null, args);
}

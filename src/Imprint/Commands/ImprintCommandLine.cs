using System.CommandLine;

namespace Imprint.Commands;

/// <summary>The `imprint` command line: `serve`, `fingerprint`, `token` and the client commands.</summary>
internal static class ImprintCommandLine
{
    /// <summary>Exit code for a command line that does not parse (API.md).</summary>
    public const int UsageError = 2;

    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("Imprint finds the same machine image in every cloud.");
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(FingerprintCommand.Create());
        root.Subcommands.Add(TokenCommand.Create());
        root.Subcommands.Add(UploadCommand.Create());
        foreach (var command in ClientCommands.Create())
            root.Subcommands.Add(command);

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
                await Console.Error.WriteLineAsync($"imprint: {error.Message}");
            await Console.Error.WriteLineAsync("Run 'imprint --help' for usage.");
            return UsageError;
        }
        return await parsed.InvokeAsync();
    }
}

using System.CommandLine;
using Imprint.Demo;
using Imprint.Hosting;
using Imprint.Storage;

namespace Imprint.Commands;

/// <summary>`imprint serve`: the API, the web UI and scheduled rematch.</summary>
internal static class ServeCommand
{
    public static readonly Option<string> DataDirOption = new("--data-dir")
    {
        Description = "Where the database, the admin token and the demo images live (default ~/.local/share/imprint).",
        DefaultValueFactory = _ => ServeOptions.DefaultDataDirectory(),
    };

    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen.", DefaultValueFactory = _ => ServeOptions.DefaultUrl };
        var database = new Option<string?>("--database") { Description = "sqlite:PATH (default: imprint.db in the data dir) or postgres:CONNECTION-STRING." };
        var demo = new Option<bool>("--demo") { Description = "Fill an empty database with demo clouds, images and ServerTemplates." };
        var noScheduler = new Option<bool>("--no-scheduler")
        {
            Description = "Serve the API and web UI only: no scheduled rematch here (another process sharing the database does it).",
        };
        var command = new Command("serve", "Run the Imprint server: HTTP API, web UI and scheduled rematch.") { urls, DataDirOption, database, demo, noScheduler };
        command.SetAction(async (parse, cancellationToken) =>
        {
            DatabaseLocation? location = null;
            if (parse.GetValue(database) is { } text)
            {
                location = DatabaseLocation.Parse(text, out var error);
                if (location is null)
                {
                    await Console.Error.WriteLineAsync($"imprint: {error}");
                    return ImprintCommandLine.UsageError;
                }
            }
            var options = new ServeOptions
            {
                Urls = parse.GetValue(urls)!,
                DataDirectory = Path.GetFullPath(parse.GetValue(DataDirOption)!),
                Database = location,
                Demo = parse.GetValue(demo),
                Scheduler = !parse.GetValue(noScheduler),
            };
            return await RunAsync(options, cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(ServeOptions options, CancellationToken cancellationToken)
    {
        await using var app = ServerApp.Build(options);
        await ServerApp.PrepareDatabaseAsync(app, cancellationToken);
        if (options.Demo)
            await DemoData.SeedAsync(app.Services, options, cancellationToken);
        await app.StartAsync(cancellationToken);

        var url = app.Urls.FirstOrDefault() ?? options.Urls;
        Console.WriteLine($"Imprint is running at {url}  (data: {options.DataDirectory}; Ctrl+C stops it)");
        Console.WriteLine($"  web UI: {url}/ui/  (sign in with the admin token)");
        if (File.Exists(options.AdminTokenPath))
        {
            var token = (await File.ReadAllTextAsync(options.AdminTokenPath, cancellationToken)).Trim();
            Console.WriteLine($"  admin token: {token}");
            Console.WriteLine($"  try: curl -H 'Authorization: Bearer {token}' {url}/api/server-templates");
        }
        await app.WaitForShutdownAsync(cancellationToken);
        return 0;
    }
}

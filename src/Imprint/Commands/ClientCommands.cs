using System.CommandLine;

namespace Imprint.Commands;

/// <summary>Client commands that talk to a running server: <c>clouds</c>, <c>rematch</c>, <c>image-map</c>.</summary>
internal static class ClientCommands
{
    public static IEnumerable<Command> Create() => [Clouds(), Rematch(), ImageMap()];

    private static Command Clouds()
    {
        var command = new Command("clouds", "List the account's clouds and the state of their last sync.") { ImprintClient.ServerOption };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = await ImprintClient.CreateAsync(parse, cancellationToken);
            var page = client is null ? null : await client.SendAsync(HttpMethod.Get, "/api/clouds?limit=500", cancellationToken);
            if (page is null)
                return 1;
            Console.WriteLine($"{"ID",-26}  {"NAME",-24}  {"KIND",-10}  LAST SYNC");
            foreach (var cloud in page["items"]!.AsArray())
            {
                var state = cloud!["lastSyncError"] is { } error ? $"failed: {error}" : cloud["lastSyncSucceededAt"]?.ToString() ?? "never";
                Console.WriteLine($"{cloud["id"],-26}  {cloud["name"],-24}  {cloud["kind"],-10}  {state}");
            }
            return 0;
        });
        return command;
    }

    private static Command Rematch()
    {
        var cloudArgument = new Argument<string>("CLOUD") { Description = "The cloud's id or name." };
        var command = new Command("rematch", "Requery a cloud and recompute its matches; prints the rematch report.") { cloudArgument, ImprintClient.ServerOption };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = await ImprintClient.CreateAsync(parse, cancellationToken);
            if (client is null)
                return 1;
            var cloudId = await client.ResolveCloudIdAsync(parse.GetValue(cloudArgument)!, cancellationToken);
            var report = cloudId is null ? null : await client.SendAsync(HttpMethod.Post, $"/api/clouds/{cloudId}/rematch", cancellationToken);
            if (report is null)
                return 1;
            var inventory = report["inventory"]!;
            var settings = report["settings"]!;
            Console.WriteLine($"rematch {report["status"]}: {inventory["images"]} images (+{inventory["added"]} -{inventory["removed"]} ~{inventory["changed"]})");
            Console.WriteLine($"settings: {settings["created"]!.AsArray().Count} created, {settings["updated"]!.AsArray().Count} updated, {settings["destroyed"]!.AsArray().Count} destroyed");
            foreach (var change in report["matches"]!["changed"]!.AsArray())
                Console.WriteLine($"  {change!["mciId"]}: {change["from"] ?? "-"} -> {change["to"] ?? "-"} {change["imageUid"]}");
            if (report["error"] is { } error)
                await Console.Error.WriteLineAsync($"imprint: {error}");
            return report["status"]?.ToString() == "ok" ? 0 : 1;
        });
        return command;
    }

    private static Command ImageMap()
    {
        var mciArgument = new Argument<string>("MCI") { Description = "The MultiCloud Image's id." };
        var command = new Command("image-map", "Show where a MultiCloud Image resolves, cloud by cloud.") { mciArgument, ImprintClient.ServerOption };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = await ImprintClient.CreateAsync(parse, cancellationToken);
            var map = client is null ? null : await client.SendAsync(HttpMethod.Get, $"/api/multi-cloud-images/{parse.GetValue(mciArgument)}/image-map", cancellationToken);
            if (map is null)
                return 1;
            Console.WriteLine($"{map["mciName"]} ({map["mciId"]})");
            foreach (var entry in map["clouds"]!.AsArray())
            {
                var image = entry!["image"]?["uid"]?.ToString() ?? "-";
                Console.WriteLine($"  {entry["cloudName"],-24} {entry["status"],-10} {image}");
                Console.WriteLine($"      {entry["reason"]}");
            }
            return 0;
        });
        return command;
    }
}

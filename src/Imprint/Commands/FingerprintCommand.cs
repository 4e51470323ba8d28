using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using Imprint.Core.Digests;
using Imprint.DiskImages;
using Spectre.Console;

namespace Imprint.Commands;

/// <summary>`imprint fingerprint FILE…`: digests of image files without a server (API.md).</summary>
internal static class FingerprintCommand
{
    /// <summary>Exit code when a file is not a valid image (API.md).</summary>
    public const int InvalidImage = 1;

    // Below this a progress bar would only flicker.
    private const long ProgressThreshold = 256L << 20;

    public static Command Create()
    {
        var files = new Argument<string[]>("FILE")
        {
            Description = "Image files to fingerprint.",
            Arity = ArgumentArity.OneOrMore,
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON object per file and line." };
        var digests = new Option<string[]>("--digest")
        {
            Description = "A digest to compute: md5, sha1, sha256, sha512 or disk-sha256 (repeatable). Default: md5, sha256, sha512, disk-sha256.",
            HelpName = "ALG",
        };
        digests.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (!DigestAlgorithms.TryParse(token.Value, out _))
                    result.AddError($"unknown digest algorithm '{token.Value}': use md5, sha1, sha256, sha512 or disk-sha256");
            }
        });
        var format = new Option<string>("--format")
        {
            Description = "The image format, or auto to detect it from the file.",
            DefaultValueFactory = _ => "auto",
        };
        format.AcceptOnlyFromAmong(["auto", .. ImageFingerprinter.Formats]);

        var command = new Command("fingerprint", "Print the digests of image files.") { files, json, digests, format };
        command.SetAction((parsed, cancellationToken) =>
        {
            var algorithms = parsed.GetValue(digests) is { Length: > 0 } names
                ? names.Select(n => DigestAlgorithms.TryParse(n, out var a) ? a : throw new InvalidOperationException("validated above")).Distinct().ToList()
                : FingerprintOptions.DefaultAlgorithms;
            var chosen = parsed.GetValue(format);
            var options = new FingerprintOptions { Algorithms = algorithms, Format = chosen is null or "auto" ? null : chosen };
            return RunAsync(parsed.GetValue(files) ?? [], options, parsed.GetValue(json), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(string[] paths, FingerprintOptions options, bool json, CancellationToken cancellationToken)
    {
        var exit = 0;
        var interactive = !Console.IsOutputRedirected && !Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        await using var stdout = Console.OpenStandardOutput();
        foreach (var path in paths)
        {
            var result = interactive && SizeOf(path) > ProgressThreshold
                ? await WithProgressAsync(path, options, cancellationToken)
                : await ImageFingerprinter.FingerprintFileAsync(path, options, cancellationToken);
            if (result.Fingerprint is null)
                exit = InvalidImage;
            if (json)
            {
                WriteJson(stdout, path, result);
            }
            else if (result.Fingerprint is { } fingerprint)
            {
                Console.Out.Write(
                    $"{path}: {fingerprint.Format}, virtual size {fingerprint.VirtualSize} bytes, file size {fingerprint.FileSize} bytes\n"
                    + string.Concat(fingerprint.Digests.Select(d => $"  {d}\n")));
            }
            else
            {
                await Console.Error.WriteAsync($"imprint: {path}: {result.Error}\n");
            }
            await Console.Out.FlushAsync(cancellationToken);
        }
        return exit;
    }

    private static long SizeOf(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static async Task<FingerprintResult> WithProgressAsync(string path, FingerprintOptions options, CancellationToken cancellationToken)
    {
        FingerprintResult? result = null;
        await AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Path.GetFileName(path), maxValue: SizeOf(path));
                var withProgress = options with { Progress = new TaskProgress(task) };
                result = await ImageFingerprinter.FingerprintFileAsync(path, withProgress, cancellationToken);
                task.Value = task.MaxValue;
            });
        return result!;
    }

    private static void WriteJson(Stream stdout, string path, FingerprintResult result)
    {
        // Paths are printed as they are (not \u-escaped): the output goes to a terminal or a script, never into HTML.
        using (var writer = new Utf8JsonWriter(stdout, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("path", path);
            if (result.Fingerprint is { } fingerprint)
            {
                writer.WriteString("format", fingerprint.Format);
                writer.WriteNumber("virtualSize", fingerprint.VirtualSize);
                writer.WriteNumber("fileSize", fingerprint.FileSize);
                writer.WriteStartArray("digests");
                foreach (var digest in fingerprint.Digests)
                    writer.WriteStringValue(digest.ToString());
                writer.WriteEndArray();
            }
            else
            {
                writer.WriteString("error", result.Error);
            }
            writer.WriteEndObject();
        }
        stdout.Write("\n"u8);
        stdout.Flush();
    }

    /// <summary>Sets the bar directly: the pipeline reports from worker threads, and Spectre's task is thread-safe.</summary>
    private sealed class TaskProgress(ProgressTask task) : IProgress<long>
    {
        public void Report(long value) => task.Value = value;
    }
}

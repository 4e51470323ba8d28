using System.CommandLine;
using System.Net.Http.Headers;
using Imprint.DiskImages;
using Spectre.Console;

namespace Imprint.Commands;

/// <summary>
/// <c>imprint upload --cloud ID FILE [--name N]</c> (for the cloud administrator): fingerprints the file here, then streams it
/// to the server, which uploads it into the cloud with the cloud's credentials (they never leave the server), checks the
/// cloud's checksums against the local digests (a mismatch deletes the image) and rematches the cloud.
/// </summary>
internal static class UploadCommand
{
    public static Command Create()
    {
        var cloudOption = new Option<string>("--cloud") { Description = "The cloud's id or name.", Required = true };
        var nameOption = new Option<string?>("--name") { Description = "The image name (default: the file name)." };
        var fileArgument = new Argument<FileInfo>("FILE") { Description = "The image file: raw, qcow2, vmdk, vhd or vhdx." };
        var command = new Command("upload", "Upload an image file into a cloud, with its fingerprint, then rematch the cloud.")
        {
            cloudOption, nameOption, fileArgument, ImprintClient.ServerOption,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var file = parse.GetValue(fileArgument)!;
            if (!file.Exists)
            {
                await Console.Error.WriteLineAsync($"imprint: {file.FullName}: no such file");
                return 1;
            }
            using var client = await ImprintClient.CreateAsync(parse, cancellationToken);
            if (client is null)
                return 1;
            var cloudId = await client.ResolveCloudIdAsync(parse.GetValue(cloudOption)!, cancellationToken);
            if (cloudId is null)
                return 1;

            var fingerprint = await WithProgressAsync($"fingerprinting {file.Name}", file.Length, progress =>
                ImageFingerprinter.FingerprintFileAsync(file.FullName, new FingerprintOptions { Progress = progress }, cancellationToken));
            if (!fingerprint.Success)
            {
                await Console.Error.WriteLineAsync($"imprint: {file.FullName}: {fingerprint.Error}");
                return 1;
            }
            var image = fingerprint.Fingerprint!;
            Console.WriteLine($"{file.Name}: {image.Format}, virtual size {image.VirtualSize}, {string.Join(' ', image.Digests)}");

            var name = parse.GetValue(nameOption) ?? file.Name;
            var query = $"name={Uri.EscapeDataString(name)}&diskFormat={image.Format}"
                + string.Concat(image.Digests.Select(d => "&digest=" + Uri.EscapeDataString(d.ToString())));
            var reply = await WithProgressAsync($"uploading {file.Name}", file.Length, async progress =>
            {
                await using var stream = new ProgressReadStream(file.OpenRead(), progress);
                var content = new StreamContent(stream, 1 << 20);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                content.Headers.ContentLength = file.Length;
                return await client.SendAsync(HttpMethod.Post, $"/api/clouds/{cloudId}/images?{query}", cancellationToken, content);
            });
            if (reply is null)
                return 1;
            Console.WriteLine($"uploaded image {reply["image"]?["uid"]} ({reply["image"]?["status"]}), checksums verified");
            if (reply["rematch"] is { } report)
                Console.WriteLine($"rematch {report["status"]}: {report["matches"]?["changed"]?.AsArray().Count ?? 0} matches changed");
            return 0;
        });
        return command;
    }

    /// <summary>A progress bar on a terminal; nothing when the output is redirected (scripts, tests).</summary>
    private static async Task<T> WithProgressAsync<T>(string label, long total, Func<IProgress<long>?, Task<T>> work)
    {
        if (Console.IsErrorRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
            return await work(null);
        T result = default!;
        await AnsiConsole.Progress().AutoClear(true).StartAsync(async context =>
        {
            var task = context.AddTask(label, maxValue: Math.Max(total, 1));
            result = await work(new Progress<long>(done => task.Value = done));
        });
        return result;
    }

    /// <summary>Reports how many bytes were read.</summary>
    private sealed class ProgressReadStream(Stream inner, IProgress<long>? progress) : ReadOnlyStream
    {
        private long _read;

        public override long Length => inner.Length;
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        private int Count(int read)
        {
            _read += read;
            progress?.Report(_read);
            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner.Dispose();
            base.Dispose(disposing);
        }
    }
}

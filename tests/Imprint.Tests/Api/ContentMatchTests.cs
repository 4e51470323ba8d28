using System.Diagnostics;
using Imprint.Tests.Infrastructure;

namespace Imprint.Tests.Api;

/// <summary>
/// The folder connector reports disk-sha256, so a fingerprint taken of a qcow2 finds the raw image an administrator
/// converted with qemu-img: the same content in another container.
/// </summary>
public sealed class ContentMatchTests(ImprintServer server) : IClassFixture<ImprintServer>
{
    [Fact]
    public async Task Matcher_FromQcow2Fingerprint_FindsConvertedRawImageBySameContent()
    {
        using var api = server.Client();
        var work = TestImages.NewFolder();
        var cloudFolder = TestImages.NewFolder();
        var raw = TestImages.Write(work, "source.raw", seed: 21, size: 3 * 1024 * 1024 + 512);
        var qcow2 = Path.Combine(work, "build.qcow2");
        await QemuImgAsync("convert", "-f", "raw", "-O", "qcow2", raw, qcow2);
        await QemuImgAsync("convert", "-f", "qcow2", "-O", "raw", qcow2, Path.Combine(cloudFolder, "converted.img"));
        var fingerprint = await FingerprintAsync(qcow2);
        var cloud = await api.CreateFolderCloudAsync(cloudFolder);
        await api.RematchAsync(cloud);
        var mci = await api.CreateMciAsync();

        await api.AddMatcherAsync(mci, fingerprint, "build.qcow2");

        var entry = await api.MapEntryAsync(mci, cloud);
        entry["status"]!.ToString().ShouldBe("matched");
        entry["image"]!["uid"]!.ToString().ShouldBe("converted.img");
        entry["candidates"]![0]!["evidence"]!.ToString().ShouldBe("same-content");
        var listed = (await api.GetAsync($"/api/clouds/{cloud}/images")).Body["items"]![0]!;
        listed["digests"]!.AsArray().Select(d => d!.ToString()).ShouldContain(fingerprint.Single(d => d.StartsWith("disk-sha256:", StringComparison.Ordinal)));
        listed["diskFormat"]!.ToString().ShouldBe("raw");
        listed["virtualSize"]!.GetValue<long>().ShouldBe(3 * 1024 * 1024 + 512);
    }

    private static async Task QemuImgAsync(params string[] args)
    {
        var start = new ProcessStartInfo("qemu-img") { RedirectStandardError = true };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        // Fails (never skips) where qemu-img is missing: .ci/run installs qemu-utils.
        using var process = Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        process.ExitCode.ShouldBe(0, error);
    }

    /// <summary>What `imprint fingerprint --json` prints for the file, as a fingerprint.</summary>
    private static async Task<string[]> FingerprintAsync(string path)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "imprint.dll"), "fingerprint", "--json", path })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        process.ExitCode.ShouldBe(0, output);
        var json = System.Text.Json.Nodes.JsonNode.Parse(output)!;
        json["format"]!.ToString().ShouldBe("qcow2");
        return json["digests"]!.AsArray().Select(d => d!.ToString()).ToArray();
    }
}

using System.Security.Cryptography;
using Imprint.Tests.Infrastructure;

namespace Imprint.Tests.Commands;

/// <summary>`imprint fingerprint` as a user runs it: output, exit codes 0 / 1 / 2.</summary>
public sealed class FingerprintCommandTests
{
    [Fact]
    public async Task Fingerprint_RawFile_DefaultDigestsMatchIndependentHashes()
    {
        var path = TestImages.Write(TestImages.NewFolder(), "disk.raw", seed: 31, size: 1024 * 1024 + 100);
        var bytes = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);

        var (exit, output, _) = await ImprintCli.RunAsync("fingerprint", "--json", path);

        exit.ShouldBe(0);
        var json = System.Text.Json.Nodes.JsonNode.Parse(output)!;
        json["path"]!.ToString().ShouldBe(path);
        json["virtualSize"]!.GetValue<long>().ShouldBe(bytes.Length);
        json["digests"]!.AsArray().Select(d => d!.ToString()).ShouldBe(
        [
            "md5:" + Convert.ToHexStringLower(MD5.HashData(bytes)),
            "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)),
            "sha512:" + Convert.ToHexStringLower(SHA512.HashData(bytes)),
            json["digests"]![3]!.ToString(),
        ]);
        json["digests"]![3]!.ToString().ShouldStartWith("disk-sha256:");
    }

    [Fact]
    public async Task Fingerprint_CorruptImageBesideGoodOne_Exit1WithOneLineNamingTheFile()
    {
        var folder = TestImages.NewFolder();
        var good = TestImages.Write(folder, "good.raw", seed: 32);
        var bad = Path.Combine(folder, "bad.qcow2");
        await File.WriteAllBytesAsync(bad, [(byte)'Q', (byte)'F', (byte)'I', 0xfb, 0, 0, 0, 3], TestContext.Current.CancellationToken);

        var (exit, output, error) = await ImprintCli.RunAsync("fingerprint", "--json", good, bad);

        exit.ShouldBe(1);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(2);
        lines[1].ShouldContain("\"error\"");
        lines[1].ShouldContain("bad.qcow2");
        error.ShouldNotContain("   at ");
    }

    [Fact]
    public async Task Fingerprint_UnknownOption_Exit2()
    {
        var (exit, _, error) = await ImprintCli.RunAsync("fingerprint", "--digest", "crc32", "/dev/null");

        exit.ShouldBe(2);
        error.ShouldNotBeEmpty();
    }
}

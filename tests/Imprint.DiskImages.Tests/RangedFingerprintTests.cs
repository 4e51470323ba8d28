using Imprint.Core.Digests;
using Imprint.DiskImages.Tests.Support;

namespace Imprint.DiskImages.Tests;

/// <summary>Images read through byte ranges of a download (a cloud's <c>/file</c> with HTTP Range), never copied to disk.</summary>
public sealed class RangedFingerprintTests(QemuImages images)
{
    private static readonly FingerprintOptions ContentOnly = new() { Algorithms = [DigestAlgorithm.DiskSha256] };

    [Theory]
    [MemberData(nameof(QemuImages.Names), MemberType = typeof(QemuImages))]
    public async Task FingerprintRanges_QemuImage_MatchesReferenceAndReadsTheFileAboutOnce(string name)
    {
        var image = images[name];
        var source = new FileRanges(image.Path);
        // A fixed VHD has no magic up front, only a footer: the cloud says its format.
        var options = ContentOnly with { Format = name == "vhd-fixed" ? "vhd" : null };

        var result = await ImageFingerprinter.FingerprintRangesAsync(source, options, TestContext.Current.CancellationToken);

        result.Error.ShouldBeNull();
        var fingerprint = result.Fingerprint.ShouldNotBeNull();
        fingerprint.Format.ShouldBe(image.ExpectedFormat);
        fingerprint.VirtualSize.ShouldBe(image.VirtualSize);
        fingerprint.Digests.Single().ToString().ShouldBe(image.DiskSha256);
        // One range for the data, a few small ones for tables: never the file twice.
        source.BytesServed.ShouldBeLessThanOrEqualTo(source.Length + (4L << 20), $"{source.Requests} requests");
        source.Requests.ShouldBeLessThanOrEqualTo(40);
    }

    [Fact]
    public async Task FingerprintRanges_AllDigestsOfQcow2_MatchTheFile()
    {
        var image = images["qcow2-zstd"];

        var result = await ImageFingerprinter.FingerprintRangesAsync(new FileRanges(image.Path), new FingerprintOptions { Algorithms = DigestAlgorithms.All }, TestContext.Current.CancellationToken);

        result.Fingerprint.ShouldNotBeNull().Digests.Select(d => d.ToString()).ShouldBe(image.ReferenceDigests);
    }

    [Theory]
    [InlineData("raw-dense", 5_000_000)]
    [InlineData("qcow2-v3", 1_000_000)]
    [InlineData("qcow2-v3", 100)]
    [InlineData("vmdk-stream", 200_000)]
    public async Task FingerprintRanges_DownloadBreaksOff_ThrowsSourceFailureNotAVerdict(string name, long breakAfter)
    {
        var source = new FileRanges(images[name].Path, breakAfter);

        var failure = await Should.ThrowAsync<ImageSourceException>(() =>
            ImageFingerprinter.FingerprintRangesAsync(source, ContentOnly, TestContext.Current.CancellationToken));

        failure.Message.ShouldContain("connection was reset");
    }

    [Fact]
    public async Task FingerprintRanges_TruncatedQcow2_IsAVerdictOnTheImage()
    {
        var path = images.Copy("qcow2-v3");
        Patch.Truncate(path, 0x48000);

        var result = await ImageFingerprinter.FingerprintRangesAsync(new FileRanges(path), ContentOnly, TestContext.Current.CancellationToken);

        result.Fingerprint.ShouldBeNull();
        result.Error.ShouldNotBeNull().ShouldContain("lies past the end of the file");
    }

    [Fact]
    public async Task FingerprintRanges_Cancelled_Throws()
    {
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await Should.ThrowAsync<OperationCanceledException>(() =>
            ImageFingerprinter.FingerprintRangesAsync(new FileRanges(images["qcow2-v3"].Path), ContentOnly, cancel.Token));
    }
}

using System.Security.Cryptography;
using Imprint.Core.Digests;
using Imprint.DiskImages.Tests.Support;

namespace Imprint.DiskImages.Tests;

public sealed class ImageFingerprinterTests(QemuImages images)
{
    private static readonly FingerprintOptions AllDigests = new() { Algorithms = DigestAlgorithms.All };

    [Theory]
    [MemberData(nameof(QemuImages.Names), MemberType = typeof(QemuImages))]
    public async Task FingerprintFile_QemuImage_MatchesReferenceDigests(string name)
    {
        var image = images[name];

        var result = await ImageFingerprinter.FingerprintFileAsync(image.Path, AllDigests, TestContext.Current.CancellationToken);

        result.Error.ShouldBeNull();
        var fingerprint = result.Fingerprint.ShouldNotBeNull();
        fingerprint.Format.ShouldBe(image.ExpectedFormat);
        fingerprint.VirtualSize.ShouldBe(image.VirtualSize);
        fingerprint.FileSize.ShouldBe(new FileInfo(image.Path).Length);
        fingerprint.Digests.Select(d => d.ToString()).ShouldBe(
        [
            image.FileDigests["md5"], image.FileDigests["sha1"], image.FileDigests["sha256"], image.FileDigests["sha512"], image.DiskSha256,
        ]);
    }

    [Fact]
    public void QemuImages_EveryFormat_HasTheSameContentDigest()
    {
        // Sanity of the fixture itself: one content in every container, except where qemu rounds the VHD size to its
        // geometry and the image qemu-io wrote by hand.
        var digests = images.Images.Values.Where(i => i.Name is not ("vhd-dynamic" or "qcow2-written")).Select(i => i.DiskSha256).Distinct().ToList();

        digests.Count.ShouldBe(1);
    }

    [Theory]
    [InlineData("raw-dense", null)]
    [InlineData("raw-sparse", null)]
    [InlineData("qcow2-v3", null)]
    [InlineData("qcow2-zstd", null)]
    [InlineData("qcow2-written", null)]
    [InlineData("vmdk-stream", null)]
    [InlineData("vhdx-dynamic", null)]
    [InlineData("vhd-dynamic", null)]
    [InlineData("vhd-fixed", "vhd")]
    public async Task FingerprintStream_NonSeekableStream_MatchesReferenceDigests(string name, string? format)
    {
        var image = images[name];
        await using var file = File.OpenRead(image.Path);
        await using var stream = new NonSeekableStream(file);

        var result = await ImageFingerprinter.FingerprintStreamAsync(stream, AllDigests with { Format = format }, TestContext.Current.CancellationToken);

        result.Error.ShouldBeNull();
        var fingerprint = result.Fingerprint.ShouldNotBeNull();
        fingerprint.Format.ShouldBe(image.ExpectedFormat);
        fingerprint.VirtualSize.ShouldBe(image.VirtualSize);
        fingerprint.FileSize.ShouldBe(file.Length);
        fingerprint.Digests.Select(d => d.ToString()).ShouldBe(
        [
            image.FileDigests["md5"], image.FileDigests["sha1"], image.FileDigests["sha256"], image.FileDigests["sha512"], image.DiskSha256,
        ]);
    }

    [Fact]
    public async Task FingerprintFile_StreamVmdkWithGrainDirectoryAtEnd_ReadsTheFooter()
    {
        // VMware's one-pass writers put "grain directory at end" in the header and the real offset in a footer
        // (footer marker, footer header, end-of-stream marker); qemu-img writes the offset up front, so build one.
        var image = images["vmdk-stream"];
        var path = images.Copy("vmdk-stream");
        var header = Patch.Read(path, 0, 512);
        Patch.WriteUInt64LittleEndian(path, 56, ulong.MaxValue);
        var marker = new byte[512];
        BitConverter.GetBytes(1UL).CopyTo(marker, 0);
        BitConverter.GetBytes(3u).CopyTo(marker, 12);
        Patch.Append(path, [.. marker, .. header, .. new byte[512]]);

        var result = await ImageFingerprinter.FingerprintFileAsync(path, new FingerprintOptions { Algorithms = [DigestAlgorithm.DiskSha256] }, TestContext.Current.CancellationToken);

        result.Fingerprint.ShouldNotBeNull().Digests.Single().ToString().ShouldBe(image.DiskSha256);
    }

    [Fact]
    public async Task FingerprintStream_SeekableFileStream_ReadsInPlace()
    {
        var image = images["qcow2-zstd"];
        await using var file = File.OpenRead(image.Path);

        var result = await ImageFingerprinter.FingerprintStreamAsync(file, new FingerprintOptions { Algorithms = [DigestAlgorithm.Sha256, DigestAlgorithm.DiskSha256] }, TestContext.Current.CancellationToken);

        result.Fingerprint.ShouldNotBeNull().Digests.Select(d => d.ToString()).ShouldBe([image.FileDigests["sha256"], image.DiskSha256]);
    }

    [Fact]
    public async Task FingerprintFile_AlgorithmsInAnyOrder_ReturnsThemInRequestedOrder()
    {
        var image = images["qcow2-v3"];
        var options = new FingerprintOptions { Algorithms = [DigestAlgorithm.DiskSha256, DigestAlgorithm.Sha256] };

        var result = await ImageFingerprinter.FingerprintFileAsync(image.Path, options, TestContext.Current.CancellationToken);

        result.Fingerprint.ShouldNotBeNull().Digests.Select(d => d.ToString()).ShouldBe([image.DiskSha256, image.FileDigests["sha256"]]);
    }

    [Fact]
    public async Task FingerprintFile_EmptyRaw_HashesOnlyTheSize()
    {
        var path = Path.Combine(images.Directory, $"empty-{Guid.NewGuid():N}.raw");
        await File.WriteAllBytesAsync(path, [], TestContext.Current.CancellationToken);
        var expected = new byte[16 + 8];
        "imprint-disk-v1\0"u8.CopyTo(expected);

        var result = await ImageFingerprinter.FingerprintFileAsync(path, new FingerprintOptions { Algorithms = [DigestAlgorithm.DiskSha256] }, TestContext.Current.CancellationToken);

        result.Fingerprint.ShouldNotBeNull().Digests.Single().Hex.ShouldBe(Convert.ToHexStringLower(SHA256.HashData(expected)));
        Tool.ReferenceDiskSha256(path).ShouldBe(result.Fingerprint.Digests.Single().ToString());
    }

    [Fact]
    public async Task FingerprintFile_VirtualSizeAbove64TiB_IsRefused()
    {
        var path = Path.Combine(images.Directory, $"too-big-{Guid.NewGuid():N}.qcow2");
        Tool.Run("qemu-img", "create", "-q", "-f", "qcow2", path, "65T");

        var result = await ImageFingerprinter.FingerprintFileAsync(path, new FingerprintOptions(), TestContext.Current.CancellationToken);

        result.Error.ShouldBe($"qcow2: virtual size {65L << 40} bytes exceeds the 64 TiB limit");
    }

    [Fact]
    public async Task FingerprintFile_FormatOverriddenWrongly_ReturnsError()
    {
        var result = await ImageFingerprinter.FingerprintFileAsync(images["qcow2-v3"].Path, new FingerprintOptions { Format = "vhdx" }, TestContext.Current.CancellationToken);

        result.Error.ShouldBe("vhdx: bad signature, this is not a VHDX image");
    }

    [Fact]
    public async Task FingerprintFile_FormatRaw_HashesTheContainerAsContent()
    {
        var image = images["qcow2-v3"];

        var result = await ImageFingerprinter.FingerprintFileAsync(image.Path, new FingerprintOptions { Format = "raw", Algorithms = [DigestAlgorithm.DiskSha256] }, TestContext.Current.CancellationToken);

        result.Fingerprint.ShouldNotBeNull().Digests.Single().ToString().ShouldBe(Tool.ReferenceDiskSha256(image.Path));
    }

    [Fact]
    public async Task FingerprintFile_MissingFile_ReturnsError()
    {
        var result = await ImageFingerprinter.FingerprintFileAsync(Path.Combine(images.Directory, "no-such-file"), AllDigests, TestContext.Current.CancellationToken);

        result.Error.ShouldNotBeNull().ShouldStartWith("cannot open:");
    }

    [Fact]
    public async Task FingerprintFile_Directory_ReturnsError()
    {
        var result = await ImageFingerprinter.FingerprintFileAsync(images.Directory, AllDigests, TestContext.Current.CancellationToken);

        result.Error.ShouldBe("is a directory, not an image file");
    }

    [Fact]
    public async Task FingerprintFile_Cancelled_Throws()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Should.ThrowAsync<OperationCanceledException>(() => ImageFingerprinter.FingerprintFileAsync(images["raw-dense"].Path, AllDigests, cancelled.Token));
    }

    [Fact]
    public void FingerprintOptions_UnknownFormat_IsRefused()
    {
        Should.Throw<ArgumentException>(() => ImageFingerprinter.FingerprintFileAsync(images["raw-dense"].Path, new FingerprintOptions { Format = "vdi" }, CancellationToken.None));
    }
}

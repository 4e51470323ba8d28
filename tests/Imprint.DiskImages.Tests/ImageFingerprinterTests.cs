using System.Security.Cryptography;
using Imprint.Core.Digests;
using Imprint.DiskImages.Tests.Support;

namespace Imprint.DiskImages.Tests;

public sealed class ImageFingerprinterTests(QemuImages images)
{
    private static readonly FingerprintOptions AllDigests = new() { Algorithms = DigestAlgorithms.All };

    /// <summary>Every qemu-made image, through the pipeline's threads and on the calling thread.</summary>
    public static TheoryData<string, bool> NamesBothWays()
    {
        var data = new TheoryData<string, bool>();
        foreach (var name in QemuImages.Names)
        {
            data.Add(name.Data, false);
            data.Add(name.Data, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(NamesBothWays))]
    public async Task FingerprintFile_QemuImage_MatchesReferenceDigests(string name, bool onCallingThread)
    {
        var image = images[name];

        var result = await ImageFingerprinter.FingerprintFileAsync(image.Path, AllDigests with { OnCallingThread = onCallingThread }, TestContext.Current.CancellationToken);

        result.Error.ShouldBeNull();
        var fingerprint = result.Fingerprint.ShouldNotBeNull();
        fingerprint.Format.ShouldBe(image.ExpectedFormat);
        fingerprint.VirtualSize.ShouldBe(image.VirtualSize);
        fingerprint.FileSize.ShouldBe(new FileInfo(image.Path).Length);
        fingerprint.Digests.Select(d => d.ToString()).ShouldBe(image.ReferenceDigests);
    }

    [Theory]
    [InlineData("raw", 0)]
    [InlineData("raw", 1)]
    [InlineData("raw", (3 << 20) + 5)]
    [InlineData("raw", 4 << 20)]
    [InlineData("qcow2", (3 << 20) + 512)]
    [InlineData("vmdk", 2 << 20)]
    public async Task FingerprintFile_SmallImage_HashedInlineAsThePipelineDoes(string format, int size)
    {
        // Images of at most 4 MiB skip the pipeline's threads: the same digests either way, and the reference ones.
        var raw = Path.Combine(images.Directory, $"small-{Guid.NewGuid():N}.raw");
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        if (size > 3 << 20)
            bytes.AsSpan(1 << 20, 1 << 20).Clear(); // a whole MiB of zeros: the constant leaf
        await File.WriteAllBytesAsync(raw, bytes, TestContext.Current.CancellationToken);
        var path = raw;
        if (format != "raw")
        {
            path = Path.ChangeExtension(raw, format);
            Tool.Run("qemu-img", "convert", "-f", "raw", "-O", format, raw, path);
        }
        var options = new FingerprintOptions { Algorithms = [DigestAlgorithm.Md5, DigestAlgorithm.Sha256, DigestAlgorithm.Sha512, DigestAlgorithm.DiskSha256] };

        var inline = await ImageFingerprinter.FingerprintFileAsync(path, options, TestContext.Current.CancellationToken);
        var threaded = await ImageFingerprinter.FingerprintFileAsync(path, options with { InlineLimit = 0 }, TestContext.Current.CancellationToken);

        string[] expected = [Tool.FileDigest("md5", path), Tool.FileDigest("sha256", path), Tool.FileDigest("sha512", path), Tool.ReferenceDiskSha256(raw)];
        inline.Fingerprint.ShouldNotBeNull().Digests.Select(d => d.ToString()).ShouldBe(expected);
        threaded.Fingerprint.ShouldNotBeNull().Digests.Select(d => d.ToString()).ShouldBe(expected);
        inline.Fingerprint.ShouldBe(threaded.Fingerprint with { Digests = inline.Fingerprint.Digests });
    }

    [Fact]
    public async Task FingerprintFile_OnCallingThreadCancelled_StopsPartWay()
    {
        var path = Path.Combine(images.Directory, $"sparse-{Guid.NewGuid():N}.raw");
        await using (var file = File.Create(path))
            file.SetLength(256L << 20);
        using var cancel = new CancellationTokenSource();
        var progress = new Reported(_ => cancel.Cancel());

        await Should.ThrowAsync<OperationCanceledException>(() =>
            ImageFingerprinter.FingerprintFileAsync(path, new FingerprintOptions { OnCallingThread = true, Progress = progress }, cancel.Token));

        // Cancelled at the first report (after the first MiB): the next block is not read.
        progress.Last.ShouldBe(1L << 20);
    }

    [Fact]
    public async Task FingerprintFile_RawShrinksWhileReadOnCallingThread_ReturnsError()
    {
        var path = Path.Combine(images.Directory, $"shrinking-{Guid.NewGuid():N}.raw");
        await File.WriteAllBytesAsync(path, new byte[3 << 20], TestContext.Current.CancellationToken);
        // Truncated after the first MiB is hashed: the read of the second one comes up short.
        var progress = new Reported(bytes =>
        {
            if (bytes == 1 << 20)
                Patch.Truncate(path, (1 << 20) + 100);
        });

        var result = await ImageFingerprinter.FingerprintFileAsync(path, new FingerprintOptions { OnCallingThread = true, Progress = progress }, TestContext.Current.CancellationToken);

        result.Error.ShouldBe($"the file changed size while being read ({(1 << 20) + 100} of {3 << 20} bytes)");
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
        fingerprint.Digests.Select(d => d.ToString()).ShouldBe(image.ReferenceDigests);
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

    /// <summary>Progress reported synchronously on the hashing thread (<see cref="Progress{T}"/> would post it elsewhere).</summary>
    private sealed class Reported(Action<long> onReport) : IProgress<long>
    {
        public long Last { get; private set; }

        public void Report(long value)
        {
            Last = value;
            onReport(value);
        }
    }
}

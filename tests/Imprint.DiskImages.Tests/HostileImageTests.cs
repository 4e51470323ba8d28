using System.Diagnostics;
using System.IO.Compression;
using Imprint.Core.Digests;
using Imprint.DiskImages.Tests.Support;

namespace Imprint.DiskImages.Tests;

/// <summary>Corrupt and malicious images: each fails with one line that names the fault, quickly, never with an exception.</summary>
public sealed class HostileImageTests(QemuImages images)
{
    private const ulong Qcow2OffsetMask = 0x00ff_ffff_ffff_fe00;

    private static readonly FingerprintOptions ContentOnly = new() { Algorithms = [DigestAlgorithm.DiskSha256] };

    [Fact]
    public async Task Qcow2_Truncated_FailsPastEndOfFile()
    {
        var path = images.Copy("qcow2-v3");
        Patch.Truncate(path, 0x48000);

        (await ErrorOf(path)).ShouldContain("lies past the end of the file");
    }

    [Fact]
    public async Task Qcow2_L1TablePastEndOfFile_Fails()
    {
        var path = images.Copy("qcow2-v3");
        Patch.WriteUInt64BigEndian(path, 40, 0x7000_0000_0000);

        (await ErrorOf(path)).ShouldBe("qcow2: the L1 table at 0x700000000000 lies past the end of the file");
    }

    [Fact]
    public async Task Qcow2_L1TableInHeader_Fails()
    {
        var path = images.Copy("qcow2-v3");
        Patch.WriteUInt64BigEndian(path, 40, 0);

        (await ErrorOf(path)).ShouldBe("qcow2: the L1 table offset 0x0 points into the header");
    }

    [Fact]
    public async Task Qcow2_L2TableIsTheL1Table_FailsAsOverlap()
    {
        var path = images.Copy("qcow2-v3");
        var l1 = (long)Patch.ReadUInt64BigEndian(path, 40);
        Patch.WriteUInt64BigEndian(path, l1, (ulong)l1 | (1UL << 63));

        (await ErrorOf(path)).ShouldBe($"qcow2: L2 table 0 at 0x{l1:x} overlaps the L1 table");
    }

    [Fact]
    public async Task Qcow2_L2TableUnaligned_Fails()
    {
        var path = images.Copy("qcow2-v3");
        var l1 = (long)Patch.ReadUInt64BigEndian(path, 40);
        var l2 = Patch.ReadUInt64BigEndian(path, l1) & Qcow2OffsetMask;
        Patch.WriteUInt64BigEndian(path, l1, l2 + 0x200);

        (await ErrorOf(path)).ShouldBe($"qcow2: L2 table 0 at 0x{l2 + 0x200:x} is not cluster-aligned");
    }

    [Fact]
    public async Task Qcow2_DataClusterPastEndOfFile_Fails()
    {
        var path = images.Copy("qcow2-v3");
        var l2 = L2Of(path);
        Patch.WriteUInt64BigEndian(path, l2, 0x10_0000_0000 | (1UL << 63));

        (await ErrorOf(path)).ShouldStartWith("qcow2: cluster 0 at 0x1000000000 lies past the end of the file");
    }

    [Fact]
    public async Task Qcow2_DataClusterUnaligned_Fails()
    {
        var path = images.Copy("qcow2-v3");
        Patch.WriteUInt64BigEndian(path, L2Of(path) + 8, 0x200);

        (await ErrorOf(path)).ShouldBe("qcow2: cluster 1 at 0x200 is not cluster-aligned");
    }

    [Fact]
    public async Task Qcow2_CompressedClusterInHeader_Fails()
    {
        var path = images.Copy("qcow2-zlib");
        Patch.WriteUInt64BigEndian(path, L2Of(path), (1UL << 62) | 0x100);

        (await ErrorOf(path)).ShouldBe("qcow2: compressed cluster 0 at 0x100 points into the header");
    }

    [Fact]
    public async Task Qcow2_EveryEntryPointsAtOneCluster_FailsAsLoopingTables()
    {
        // 64 GiB of guest disk whose L1 entries all share one L2 table whose entries all share one data cluster:
        // hashing it would take minutes. The mapping outgrows the file and is refused.
        var path = images.Copy("qcow2-v3");
        var l1 = (long)Patch.ReadUInt64BigEndian(path, 40);
        var l1Entry = Patch.ReadUInt64BigEndian(path, l1);
        var l2 = (long)(l1Entry & Qcow2OffsetMask);
        var data = Patch.ReadUInt64BigEndian(path, l2);
        Patch.WriteUInt64BigEndian(path, 24, 64UL << 30);
        Patch.WriteUInt32BigEndian(path, 36, 128);
        for (var i = 0; i < 128; i++)
            Patch.WriteUInt64BigEndian(path, l1 + (i * 8), l1Entry);
        for (var i = 0; i < 8192; i++)
            Patch.WriteUInt64BigEndian(path, l2 + (i * 8), data);

        (await ErrorOf(path)).ShouldBe("the tables map more data than the file holds: clusters are referenced twice (overlapping or looping tables)");
    }

    [Fact]
    public async Task Qcow2_AbsurdVirtualSize_Fails()
    {
        var path = images.Copy("qcow2-v3");
        Patch.WriteUInt64BigEndian(path, 24, 1UL << 62);

        (await ErrorOf(path)).ShouldBe($"qcow2: virtual size {1UL << 62} bytes exceeds the 64 TiB limit");
    }

    [Fact]
    public async Task Qcow2_L1TooSmallForVirtualSize_Fails()
    {
        var path = images.Copy("qcow2-v3");
        Patch.WriteUInt64BigEndian(path, 24, 10UL << 30);

        (await ErrorOf(path)).ShouldBe("qcow2: the L1 table has 1 entries, fewer than the 20 the virtual size needs");
    }

    [Fact]
    public async Task Qcow2_ClusterBitsOutOfRange_Fails()
    {
        var path = images.Copy("qcow2-v3");
        Patch.WriteUInt32BigEndian(path, 20, 40);

        (await ErrorOf(path)).ShouldBe("qcow2: cluster size 2^40 is outside 512 B to 2 MiB");
    }

    [Fact]
    public async Task Qcow2_UnknownIncompatibleFeature_Fails()
    {
        var path = images.Copy("qcow2-v3");
        Patch.WriteUInt64BigEndian(path, 72, Patch.ReadUInt64BigEndian(path, 72) | 0x20);

        (await ErrorOf(path)).ShouldBe("qcow2: unknown incompatible features 0x20");
    }

    [Fact]
    public async Task Qcow2_MarkedCorrupt_Fails()
    {
        var path = images.Copy("qcow2-v3");
        Patch.WriteUInt64BigEndian(path, 72, Patch.ReadUInt64BigEndian(path, 72) | 0x2);

        (await ErrorOf(path)).ShouldBe("qcow2: the image is marked corrupt");
    }

    [Fact]
    public async Task Qcow2_BackingFile_IsRefused()
    {
        var path = Path.Combine(images.Directory, $"overlay-{Guid.NewGuid():N}.qcow2");
        Tool.Run("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", images["qcow2-v3"].Path, path);

        (await ErrorOf(path)).ShouldBe("qcow2: the image has a backing file; only self-contained images can be fingerprinted");
    }

    [Fact]
    public async Task Qcow2_Encrypted_IsRefused()
    {
        var path = Path.Combine(images.Directory, $"luks-{Guid.NewGuid():N}.qcow2");
        // qemu-img times its LUKS key derivation by CPU usage, which a loaded VM sometimes cannot measure: try again then.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Tool.Run("qemu-img", "create", "-q", "-f", "qcow2", "--object", "secret,id=sec0,data=imprint", "-o", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", path, "4M");
                break;
            }
            catch (InvalidOperationException e) when (attempt < 5 && e.Message.Contains("Unable to get accurate CPU usage", StringComparison.Ordinal))
            {
                await Task.Delay(100 * attempt, TestContext.Current.CancellationToken);
            }
        }

        (await ErrorOf(path)).ShouldBe("qcow2: the image is encrypted");
    }

    [Fact]
    public async Task Qcow2_ExternalDataFile_IsRefused()
    {
        var path = Path.Combine(images.Directory, $"external-{Guid.NewGuid():N}.qcow2");
        Tool.Run("qemu-img", "create", "-q", "-f", "qcow2", "-o", $"data_file={path}.data", path, "4M");

        (await ErrorOf(path)).ShouldBe("qcow2: the image keeps its data in an external data file");
    }

    [Fact]
    public async Task Qcow2_DeflateClusterInflatesPastItsCluster_Fails()
    {
        // 128 KiB of zeros deflates to a few hundred bytes; as a 64 KiB cluster it overflows.
        var path = images.Copy("qcow2-zlib");
        using var compressed = new MemoryStream();
        using (var deflate = new DeflateStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            deflate.Write(new byte[128 * 1024]);
        var offset = Patch.Append(path, compressed.ToArray());
        Patch.WriteUInt64BigEndian(path, L2Of(path), (1UL << 62) | (ulong)offset);

        (await ErrorOf(path)).ShouldBe("qcow2: compressed cluster 0 inflates past its 65536 bytes");
    }

    [Fact]
    public async Task Qcow2_ZstdClusterInflatesPastItsCluster_Fails()
    {
        var path = images.Copy("qcow2-zstd");
        using var compressor = new ZstdSharp.Compressor();
        var offset = Patch.Append(path, compressor.Wrap(new byte[128 * 1024]));
        Patch.WriteUInt64BigEndian(path, L2Of(path), (1UL << 62) | (ulong)offset);

        (await ErrorOf(path)).ShouldBe("qcow2: compressed cluster 0 inflates past its 65536 bytes");
    }

    [Fact]
    public async Task Qcow2_CompressedClusterOfGarbage_Fails()
    {
        var path = images.Copy("qcow2-zlib");
        var garbage = new byte[4096];
        new Random(7).NextBytes(garbage);
        var offset = Patch.Append(path, garbage);
        Patch.WriteUInt64BigEndian(path, L2Of(path), (1UL << 62) | (7UL << 54) | (ulong)offset);

        (await ErrorOf(path)).ShouldStartWith("qcow2: compressed cluster 0 ");
    }

    [Theory]
    [InlineData("QFI\u00fb", "qcow2:")]
    [InlineData("KDMV", "vmdk:")]
    [InlineData("vhdxfile", "vhdx:")]
    [InlineData("conectix", "vhd:")]
    public async Task AnyFormat_GarbageWithRightMagic_FailsNamingTheFormat(string magic, string prefix)
    {
        var path = Path.Combine(images.Directory, $"garbage-{Guid.NewGuid():N}.img");
        var bytes = new byte[3 << 20];
        new Random(magic.Length).NextBytes(bytes);
        System.Text.Encoding.Latin1.GetBytes(magic).CopyTo(bytes, 0);
        await File.WriteAllBytesAsync(path, bytes, TestContext.Current.CancellationToken);

        (await ErrorOf(path)).ShouldStartWith(prefix);
    }

    [Theory]
    [InlineData("qcow2-v3", 3)]
    [InlineData("vmdk-sparse", 3)]
    [InlineData("vhdx-dynamic", 3)]
    public async Task AnyFormat_ShorterThanItsHeader_Fails(string name, int length)
    {
        var path = images.Copy(name);
        Patch.Truncate(path, length + 1);
        var result = await ImageFingerprinter.FingerprintFileAsync(path, ContentOnly with { Format = images[name].ExpectedFormat }, TestContext.Current.CancellationToken);

        result.Error.ShouldNotBeNull().ShouldContain("shorter than");
    }

    [Fact]
    public async Task Vhd_FooterChecksumWrong_Fails()
    {
        var path = images.Copy("vhd-dynamic");
        Patch.Write(path, 0 + 30, [0x42]);

        (await ErrorOf(path)).ShouldBe("vhd: the footer checksum does not match");
    }

    [Fact]
    public async Task Vhd_DynamicHeaderChecksumWrong_Fails()
    {
        var path = images.Copy("vhd-dynamic");
        var header = (long)Patch.ReadUInt64BigEndian(path, 16);
        Patch.Write(path, header + 600, [0x42]);

        (await ErrorOf(path)).ShouldBe("vhd: the dynamic disk header checksum does not match");
    }

    [Fact]
    public async Task Vhd_BlockPastEndOfFile_Fails()
    {
        var path = images.Copy("vhd-dynamic");
        var header = (long)Patch.ReadUInt64BigEndian(path, 16);
        var bat = (long)Patch.ReadUInt64BigEndian(path, header + 16);
        Patch.WriteUInt32BigEndian(path, bat, 0x7fff_0000);

        (await ErrorOf(path)).ShouldStartWith("vhd: block 0 at sector 2147418112 lies past the end of the file");
    }

    [Fact]
    public async Task Vhd_BlockOverlapsItsAllocationTable_Fails()
    {
        var path = images.Copy("vhd-dynamic");
        var header = (long)Patch.ReadUInt64BigEndian(path, 16);
        var bat = (long)Patch.ReadUInt64BigEndian(path, header + 16);
        Patch.WriteUInt32BigEndian(path, bat, (uint)(bat / 512));

        (await ErrorOf(path)).ShouldBe($"vhd: block 0 at sector {bat / 512} overlaps the block allocation table");
    }

    [Fact]
    public async Task Vhd_AbsurdBlockSize_Fails()
    {
        var path = images.Copy("vhd-dynamic");
        var header = (long)Patch.ReadUInt64BigEndian(path, 16);
        Patch.WriteUInt32BigEndian(path, header + 32, 3000);
        Patch.FixVhdChecksum(path, header, 1024, 36);

        (await ErrorOf(path)).ShouldBe("vhd: block size 3000 is not a power of two between 512 B and 256 MiB");
    }

    [Fact]
    public async Task Vhdx_BothHeadersCorrupt_Fails()
    {
        var path = images.Copy("vhdx-dynamic");
        Patch.Write(path, (64 * 1024) + 100, [0x42]);
        Patch.Write(path, (128 * 1024) + 100, [0x42]);

        (await ErrorOf(path)).ShouldBe("vhdx: both headers are corrupt (bad signature or checksum)");
    }

    [Fact]
    public async Task Vhdx_OneHeaderCorrupt_ReadsTheOther()
    {
        var path = images.Copy("vhdx-dynamic");
        Patch.Write(path, (64 * 1024) + 100, [0x42]);

        var result = await ImageFingerprinter.FingerprintFileAsync(path, ContentOnly, TestContext.Current.CancellationToken);

        result.Fingerprint.ShouldNotBeNull().Digests.Single().ToString().ShouldBe(images["vhdx-dynamic"].DiskSha256);
    }

    [Fact]
    public async Task Vhdx_BothRegionTablesCorrupt_Fails()
    {
        var path = images.Copy("vhdx-dynamic");
        Patch.Write(path, (192 * 1024) + 40, [0x42]);
        Patch.Write(path, (256 * 1024) + 40, [0x42]);

        (await ErrorOf(path)).ShouldBe("vhdx: both region tables are corrupt (bad signature or checksum)");
    }

    [Fact]
    public async Task Vhdx_PayloadBlockPastEndOfFile_Fails()
    {
        var path = images.Copy("vhdx-dynamic");
        var bat = VhdxBatOffset(path);
        Patch.WriteUInt64LittleEndian(path, bat, (0x40000UL << 20) | 6);

        (await ErrorOf(path)).ShouldStartWith("vhdx: payload block 0 at 262144 MiB lies past the end of the file");
    }

    [Fact]
    public async Task Vhdx_PayloadBlockInHeaders_Fails()
    {
        var path = images.Copy("vhdx-dynamic");
        Patch.WriteUInt64LittleEndian(path, VhdxBatOffset(path), 6);

        (await ErrorOf(path)).ShouldBe("vhdx: payload block 0 at 0 points into the headers");
    }

    [Fact]
    public async Task Vhdx_PayloadBlockIsTheBat_FailsAsOverlap()
    {
        var path = images.Copy("vhdx-dynamic");
        var bat = VhdxBatOffset(path);
        Patch.WriteUInt64LittleEndian(path, bat, ((ulong)bat >> 20 << 20) | 6);

        (await ErrorOf(path)).ShouldBe($"vhdx: payload block 0 at {bat} overlaps the BAT");
    }

    [Fact]
    public async Task Vmdk_GrainDirectoryPastEndOfFile_Fails()
    {
        var path = images.Copy("vmdk-sparse");
        Patch.WriteUInt64LittleEndian(path, 56, 0x1000_0000);

        (await ErrorOf(path)).ShouldBe("vmdk: the grain directory at sector 268435456 lies past the end of the file");
    }

    [Fact]
    public async Task Vmdk_GrainTableIsTheGrainDirectory_FailsAsOverlap()
    {
        var path = images.Copy("vmdk-sparse");
        var gd = (long)Patch.ReadUInt64LittleEndian(path, 56);
        Patch.WriteUInt32LittleEndian(path, gd * 512, (uint)gd);

        (await ErrorOf(path)).ShouldBe($"vmdk: grain table 0 at sector {gd} overlaps the grain directory");
    }

    [Fact]
    public async Task Vmdk_AbsurdCapacity_Fails()
    {
        var path = images.Copy("vmdk-sparse");
        Patch.WriteUInt64LittleEndian(path, 12, ulong.MaxValue / 2);

        (await ErrorOf(path)).ShouldBe($"vmdk: capacity of {ulong.MaxValue / 2} sectors exceeds the 64 TiB limit");
    }

    [Fact]
    public async Task Vmdk_StreamGrainWithWrongLabel_Fails()
    {
        var path = images.Copy("vmdk-stream");
        // qemu-img writes the grain directory near the start and says so in the header (not "at the end").
        var gd = (long)Patch.ReadUInt64LittleEndian(path, 56);
        var gt = (long)Patch.ReadUInt32LittleEndian(path, gd * 512);
        var grain = (long)Patch.ReadUInt32LittleEndian(path, gt * 512);
        Patch.WriteUInt64LittleEndian(path, grain * 512, 999);

        (await ErrorOf(path)).ShouldBe("vmdk: compressed grain 0 is labelled for sector 999, not 0");
    }

    [Fact]
    public async Task Vmdk_DescriptorOnly_IsRefused()
    {
        var path = Path.Combine(images.Directory, $"split-{Guid.NewGuid():N}.vmdk");
        Tool.Run("qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", path, "4M");

        (await ErrorOf(path)).ShouldBe("vmdk: this is a descriptor file whose data lives in other files; only monolithicSparse and streamOptimized images can be fingerprinted");
    }

    /// <summary>The error for the image, which must be the same through the pipeline's threads and on the calling thread.</summary>
    private static async Task<string> ErrorOf(string path)
    {
        var threaded = await ErrorOf(path, new FingerprintOptions { InlineLimit = 0 });
        var onCallingThread = await ErrorOf(path, new FingerprintOptions { OnCallingThread = true });
        onCallingThread.ShouldBe(threaded);
        return threaded;
    }

    private static async Task<string> ErrorOf(string path, FingerprintOptions options)
    {
        var stopwatch = Stopwatch.StartNew();
        var result = await ImageFingerprinter.FingerprintFileAsync(path, options, TestContext.Current.CancellationToken);
        stopwatch.Stop();
        // The issue asks for a failure within a second; leave headroom for a loaded CI machine.
        stopwatch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));
        result.Fingerprint.ShouldBeNull();
        var error = result.Error.ShouldNotBeNull();
        error.ShouldNotContain("\n");
        return error;
    }

    private static long L2Of(string path)
    {
        var l1 = (long)Patch.ReadUInt64BigEndian(path, 40);
        return (long)(Patch.ReadUInt64BigEndian(path, l1) & Qcow2OffsetMask);
    }

    private static long VhdxBatOffset(string path)
    {
        var bat = new Guid("2DC27766-F623-4200-9D64-115E9BFD4A08");
        var count = Patch.ReadUInt32LittleEndian(path, (192 * 1024) + 8);
        for (var i = 0; i < count; i++)
        {
            var entry = Patch.Read(path, (192 * 1024) + 16 + (i * 32), 32);
            if (new Guid(entry.AsSpan(0, 16)) == bat)
                return (long)BitConverter.ToUInt64(entry, 16);
        }
        throw new InvalidOperationException("no BAT region");
    }
}

using System.Buffers.Binary;
using Imprint.Core.Digests;
using Imprint.DiskImages.Tests.Support;

namespace Imprint.DiskImages.Tests.Vhd;

public sealed class VhdImageTests(QemuImages images)
{
    [Fact]
    public async Task FingerprintFile_DynamicVhdWith512ByteBlocks_SkipsTheOneSectorBitmap()
    {
        // qemu-img only writes 2 MiB blocks; the smallest legal block still carries a whole sector of bitmap.
        const int blockSize = 512;
        const int blocks = 8;
        var content = new byte[blocks * blockSize];
        content.AsSpan(0, blockSize).Fill(0x11);
        content.AsSpan(3 * blockSize, blockSize).Fill(0x33);

        var footer = Footer(content.Length);
        var header = new byte[1024];
        "cxsparse"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(8), ulong.MaxValue);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(16), 1536);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(24), 0x0001_0000);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(28), blocks);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(32), blockSize);
        Seal(header, 36);
        var bat = new byte[512];
        bat.AsSpan().Fill(0xff);
        BinaryPrimitives.WriteUInt32BigEndian(bat.AsSpan(0), 4);  // block 0: bitmap at sector 4, data at sector 5
        BinaryPrimitives.WriteUInt32BigEndian(bat.AsSpan(12), 6); // block 3: bitmap at sector 6, data at sector 7
        var bitmap = Enumerable.Repeat((byte)0xff, 512).ToArray();
        byte[] file = [.. footer, .. header, .. bat, .. bitmap, .. content.AsSpan(0, blockSize), .. bitmap, .. content.AsSpan(3 * blockSize, blockSize), .. footer];
        var path = Path.Combine(images.Directory, $"small-blocks-{Guid.NewGuid():N}.vhd");
        await File.WriteAllBytesAsync(path, file, TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(path + ".raw", content, TestContext.Current.CancellationToken);

        var result = await ImageFingerprinter.FingerprintFileAsync(path, new FingerprintOptions { Algorithms = [DigestAlgorithm.DiskSha256] }, TestContext.Current.CancellationToken);

        result.Error.ShouldBeNull();
        result.Fingerprint.ShouldNotBeNull().Digests.Single().ToString().ShouldBe(Tool.ReferenceDiskSha256(path + ".raw"));
    }

    private static byte[] Footer(long size)
    {
        var footer = new byte[512];
        "conectix"u8.CopyTo(footer);
        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(8), 2);
        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(12), 0x0001_0000);
        BinaryPrimitives.WriteUInt64BigEndian(footer.AsSpan(16), 512);
        "qem2"u8.CopyTo(footer.AsSpan(28)); // a creator whose footer size is the disk size
        BinaryPrimitives.WriteUInt64BigEndian(footer.AsSpan(40), (ulong)size);
        BinaryPrimitives.WriteUInt64BigEndian(footer.AsSpan(48), (ulong)size);
        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(60), 3);
        Seal(footer, 64);
        return footer;
    }

    private static void Seal(byte[] structure, int checksumOffset)
    {
        uint sum = 0;
        foreach (var b in structure)
            sum += b;
        BinaryPrimitives.WriteUInt32BigEndian(structure.AsSpan(checksumOffset), ~sum);
    }
}

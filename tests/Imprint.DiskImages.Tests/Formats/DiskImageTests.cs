using Imprint.DiskImages.Formats;
using Imprint.DiskImages.Pipeline;
using Imprint.DiskImages.Tests.Support;

namespace Imprint.DiskImages.Tests.Formats;

public sealed class DiskImageTests(QemuImages images)
{
    [Fact]
    public void EnumerateExtents_SparseRaw_ReportsHolesAsZeroWithoutReadingThem()
    {
        var extents = ExtentsOf(images["raw-sparse"].Path);

        extents.Sum(e => e.Length).ShouldBe(QemuImages.SourceSize);
        // The source has data at 0, 3 MiB + 4 KiB, near 8 MiB and at the end; the file system's holes lie between.
        extents.ShouldContain(e => e.Kind == ExtentKind.Zero && e.GuestOffset <= (5L << 20) && e.End >= (7L << 20));
        extents.First().Kind.ShouldBe(ExtentKind.Data);
        extents.Last().Kind.ShouldBe(ExtentKind.Data);
    }

    [Fact]
    public void EnumerateExtents_Qcow2WrittenWithZeroes_ReportsZeroClustersAndData()
    {
        var extents = ExtentsOf(images["qcow2-written"].Path);

        extents.Sum(e => e.Length).ShouldBe(QemuImages.SourceSize);
        // qemu-io wrote data at [0, 3M) then zeroes over [1M, 2M) (zero clusters), so the map is data, zero, data, ...
        extents[0].ShouldBe(extents[0] with { GuestOffset = 0, Length = 1L << 20, Kind = ExtentKind.Data });
        extents[1].ShouldBe(Extent.Zero(1L << 20, 1L << 20));
        extents[2].Kind.ShouldBe(ExtentKind.Data);
        extents[2].GuestOffset.ShouldBe(2L << 20);
    }

    [Fact]
    public void EnumerateExtents_CompressedQcow2_ReportsCompressedClusters()
    {
        var extents = ExtentsOf(images["qcow2-zlib"].Path);

        extents.ShouldContain(e => e.Kind == ExtentKind.Compressed && e.Length == 65536);
        extents.Sum(e => e.Length).ShouldBeGreaterThanOrEqualTo(QemuImages.SourceSize);
    }

    [Fact]
    public void ZeroLeaf_IsTheHashOfAZeroMebibyte()
    {
        ContentHasher.ZeroLeaf.ShouldBe(QemuImages.ZeroSha256(1 << 20));
    }

    [Theory]
    [InlineData("qcow2-v3", "qcow2")]
    [InlineData("vmdk-sparse", "vmdk")]
    [InlineData("vhdx-dynamic", "vhdx")]
    [InlineData("vhd-dynamic", "vhd")]
    [InlineData("vhd-fixed", "vhd")]
    [InlineData("raw-dense", "raw")]
    public void Open_AutoDetect_FindsTheFormatByItsMagic(string name, string format)
    {
        using var handle = File.OpenHandle(images[name].Path);

        ImageOpener.Open(new ImageFile(handle, RandomAccess.GetLength(handle)), null).Format.ShouldBe(format);
    }

    private static List<Extent> ExtentsOf(string path)
    {
        using var handle = File.OpenHandle(path);
        var image = ImageOpener.Open(new ImageFile(handle, RandomAccess.GetLength(handle)), null);
        return image.EnumerateExtents().ToList();
    }
}

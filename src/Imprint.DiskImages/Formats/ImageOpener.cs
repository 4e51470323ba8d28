using System.Buffers.Binary;
using Imprint.DiskImages.Qcow2;
using Imprint.DiskImages.Raw;
using Imprint.DiskImages.Vhd;
using Imprint.DiskImages.Vhdx;
using Imprint.DiskImages.Vmdk;

namespace Imprint.DiskImages.Formats;

/// <summary>Detects an image's format by its magic and opens the matching reader.</summary>
internal static class ImageOpener
{
    /// <summary>The formats <c>--format</c> accepts.</summary>
    public static IReadOnlyList<string> Formats { get; } = ["raw", "qcow2", "vmdk", "vhd", "vhdx"];

    /// <summary>The format named by the first bytes of the file, or null when they name none (raw, or a fixed VHD).</summary>
    public static string? DetectByMagic(ReadOnlySpan<byte> start)
    {
        if (start.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(start) == Qcow2Image.Magic)
            return "qcow2";
        if (start.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(start) == VmdkImage.Magic)
            return "vmdk";
        if (start.StartsWith("# Disk DescriptorFile"u8))
            return "vmdk";
        if (start.StartsWith(VhdxImage.Signature))
            return "vhdx";
        if (start.StartsWith(VhdImage.Cookie))
            return "vhd";
        return null;
    }

    public static DiskImage Open(ImageFile file, string? format)
    {
        if (format is null)
        {
            Span<byte> start = stackalloc byte[32];
            var got = file.ReadUpTo(0, start, table: true);
            format = DetectByMagic(start[..got]) ?? (VhdImage.HasFixedFooter(file) ? "vhd" : "raw");
        }
        DiskImage image = format switch
        {
            "raw" => new RawImage(file, file.Length),
            "qcow2" => Qcow2Image.Open(file),
            "vmdk" => VmdkImage.Open(file),
            "vhd" => VhdImage.Open(file),
            "vhdx" => VhdxImage.Open(file),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown image format"),
        };
        if (image.VirtualSize > ImageLimits.MaxVirtualSize)
            throw new InvalidImageException($"{image.Format}: virtual size {image.VirtualSize} bytes exceeds the {ImageLimits.MaxVirtualSizeText} limit");
        return image;
    }
}

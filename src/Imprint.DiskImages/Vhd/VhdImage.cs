using System.Buffers.Binary;
using Imprint.DiskImages.Formats;
using Imprint.DiskImages.Raw;

namespace Imprint.DiskImages.Vhd;

/// <summary>
/// VHD (Microsoft's Virtual Hard Disk Image Format Specification): a 512-byte footer ("conectix") at the end of
/// the file; fixed disks are raw data before it, dynamic disks have a header ("cxsparse") and a block allocation
/// table of 32-bit sector offsets, each block preceded by its sector bitmap.
/// </summary>
internal static class VhdImage
{
    public static ReadOnlySpan<byte> Cookie => "conectix"u8;

    private const uint Fixed = 2;
    private const uint Dynamic = 3;
    private const uint Differencing = 4;
    private const long MaxBatBytes = 32 << 20;

    /// <summary>True when the last 512 bytes are a valid fixed-disk footer (a fixed VHD has no magic at its start).</summary>
    public static bool HasFixedFooter(ImageFile file)
    {
        if (file.Length < 1024)
            return false;
        Span<byte> footer = stackalloc byte[512];
        file.ReadExactly(file.Length - 512, footer, "vhd footer");
        return footer.StartsWith(Cookie) && ChecksumOk(footer, 64) && BinaryPrimitives.ReadUInt32BigEndian(footer[60..]) == Fixed;
    }

    public static DiskImage Open(ImageFile file)
    {
        if (file.Length < 512)
            throw new InvalidImageException($"vhd: the file ({file.Length} bytes) is shorter than a VHD footer");
        Span<byte> footer = stackalloc byte[512];
        // Dynamic disks keep a copy of the footer at the start; fixed disks only have the one at the end.
        file.ReadExactly(0, footer, "vhd footer copy");
        if (!footer.StartsWith(Cookie))
            file.ReadExactly(file.Length - 512, footer, "vhd footer");
        if (!footer.StartsWith(Cookie))
            throw new InvalidImageException("vhd: no \"conectix\" footer, this is not a VHD image");
        if (!ChecksumOk(footer, 64))
            throw new InvalidImageException("vhd: the footer checksum does not match");
        var diskType = BinaryPrimitives.ReadUInt32BigEndian(footer[60..]);
        var currentSize = BinaryPrimitives.ReadUInt64BigEndian(footer[48..]);
        var virtualSize = VirtualSize(footer, currentSize);
        if (virtualSize > ImageLimits.MaxVirtualSize)
            throw new InvalidImageException($"vhd: virtual size {virtualSize} bytes exceeds the {ImageLimits.MaxVirtualSizeText} limit");

        switch (diskType)
        {
            case Fixed:
                if ((ulong)file.Length - 512 < virtualSize)
                    throw new InvalidImageException($"vhd: the fixed disk is {virtualSize} bytes but the file holds only {file.Length - 512} before its footer");
                return new RawImage(file, (long)virtualSize, "vhd");
            case Dynamic:
                return VhdDynamicImage.Open(file, footer, (long)virtualSize);
            case Differencing:
                throw new InvalidImageException("vhd: the image is a differencing disk with a parent; only self-contained images can be fingerprinted");
            default:
                throw new InvalidImageException($"vhd: disk type {diskType} is not fixed or dynamic");
        }
    }

    /// <summary>
    /// The size qemu gives the guest: the CHS geometry times 512, except for creators known to mean the footer's
    /// current size (and for the maximal geometry, which would truncate). Matching qemu keeps the content digest
    /// equal to that of the raw file a cloud converts the VHD into.
    /// </summary>
    private static ulong VirtualSize(ReadOnlySpan<byte> footer, ulong currentSize)
    {
        var creator = footer.Slice(28, 4);
        var cylinders = BinaryPrimitives.ReadUInt16BigEndian(footer[56..]);
        var heads = footer[58];
        var sectors = footer[59];
        var chs = (ulong)cylinders * heads * sectors;
        var usesCurrentSize = creator.SequenceEqual("win "u8) || creator.SequenceEqual("qem2"u8) || creator.SequenceEqual("d2v "u8)
            || creator.SequenceEqual("CTXS"u8) || creator.SequenceEqual("tap\0"u8);
        if (usesCurrentSize || chs == 65535UL * 16 * 255)
            return currentSize;
        return chs * 512;
    }

    /// <summary>The one's complement of the byte sum with the checksum field taken as zero.</summary>
    public static bool ChecksumOk(ReadOnlySpan<byte> structure, int checksumOffset)
    {
        uint sum = 0;
        for (var i = 0; i < structure.Length; i++)
        {
            if (i < checksumOffset || i >= checksumOffset + 4)
                sum += structure[i];
        }
        return ~sum == BinaryPrimitives.ReadUInt32BigEndian(structure[checksumOffset..]);
    }

    private sealed class VhdDynamicImage : DiskImage
    {
        private readonly long _batOffset;
        private readonly long _batBytes;
        private readonly long _blockSize;
        private readonly long _bitmapBytes;
        private readonly long _metadataEnd;

        private VhdDynamicImage(ImageFile file, long virtualSize, long batOffset, long batEntries, long blockSize, long metadataEnd)
            : base(file)
        {
            VirtualSize = virtualSize;
            _batOffset = batOffset;
            _batBytes = batEntries * 4;
            _blockSize = blockSize;
            // One bit per sector, rounded up to whole sectors (a 512-byte block still has a one-sector bitmap).
            _bitmapBytes = ((((blockSize / 512) + 7) / 8) + 511) / 512 * 512;
            _metadataEnd = metadataEnd;
        }

        public override string Format => "vhd";

        public override long VirtualSize { get; }

        public static VhdDynamicImage Open(ImageFile file, ReadOnlySpan<byte> footer, long virtualSize)
        {
            var headerOffset = BinaryPrimitives.ReadUInt64BigEndian(footer[16..]);
            if (headerOffset < 512 || headerOffset > (ulong)file.Length || (ulong)file.Length - headerOffset < 1024)
                throw new InvalidImageException($"vhd: the dynamic disk header at {headerOffset} lies outside the file");
            Span<byte> header = stackalloc byte[1024];
            file.ReadExactly((long)headerOffset, header, "vhd dynamic disk header");
            if (!header.StartsWith("cxsparse"u8))
                throw new InvalidImageException("vhd: the dynamic disk header has no \"cxsparse\" cookie");
            if (!ChecksumOk(header, 36))
                throw new InvalidImageException("vhd: the dynamic disk header checksum does not match");
            var batOffset = BinaryPrimitives.ReadUInt64BigEndian(header[16..]);
            var maxEntries = BinaryPrimitives.ReadUInt32BigEndian(header[28..]);
            var blockSize = BinaryPrimitives.ReadUInt32BigEndian(header[32..]);
            if (blockSize < 512 || blockSize > (256u << 20) || (blockSize & (blockSize - 1)) != 0)
                throw new InvalidImageException($"vhd: block size {blockSize} is not a power of two between 512 B and 256 MiB");
            var needed = (virtualSize + blockSize - 1) / blockSize;
            if (maxEntries < needed)
                throw new InvalidImageException($"vhd: the block allocation table has {maxEntries} entries, fewer than the {needed} the disk size needs");
            if (needed * 4 > MaxBatBytes)
                throw new InvalidImageException($"vhd: the block allocation table ({needed} entries) is larger than 32 MiB");
            if (batOffset > (ulong)file.Length || (ulong)needed * 4 > (ulong)file.Length - batOffset)
                throw new InvalidImageException($"vhd: the block allocation table at {batOffset} lies past the end of the file");
            if (batOffset < headerOffset + 1024 && headerOffset < batOffset + ((ulong)needed * 4))
                throw new InvalidImageException($"vhd: the block allocation table at {batOffset} overlaps the dynamic disk header");
            if (batOffset < 512)
                throw new InvalidImageException($"vhd: the block allocation table at {batOffset} overlaps the footer copy");
            var metadataEnd = (long)Math.Max(headerOffset + 1024, batOffset + ((ulong)needed * 4));
            return new VhdDynamicImage(file, virtualSize, (long)batOffset, needed, blockSize, metadataEnd);
        }

        public override Extent Map(long offset, ReadContext context)
        {
            var block = offset / _blockSize;
            var pageStart = (block * 4) & ~4095L;
            var page = context.Table(File, _batOffset + pageStart, (int)Math.Min(4096, _batBytes - pageStart), "vhd block allocation table");
            var sector = BinaryPrimitives.ReadUInt32BigEndian(page[(int)(block * 4 - pageStart)..]);
            var blockStart = block * _blockSize;
            var length = Math.Min(_blockSize, VirtualSize - blockStart);
            if (sector == uint.MaxValue)
                return Extent.Zero(blockStart, length);
            var host = (long)sector * 512;
            if (host < _metadataEnd && host + _bitmapBytes + _blockSize > 512)
            {
                if (host < _batOffset + _batBytes && _batOffset < host + _bitmapBytes + _blockSize)
                    throw new InvalidImageException($"vhd: block {block} at sector {sector} overlaps the block allocation table");
                if (host < 1536)
                    throw new InvalidImageException($"vhd: block {block} at sector {sector} points into the headers");
            }
            if (host + _bitmapBytes + length > File.Length - 512)
                throw new InvalidImageException($"vhd: block {block} at sector {sector} lies past the end of the file ({File.Length} bytes)");
            // The sector bitmap is not consulted: qemu reads a present block's data whatever its bitmap says, and the
            // content digest must equal what qemu-img convert produces from this file.
            return new Extent(blockStart, length, ExtentKind.Data, host + _bitmapBytes);
        }
    }
}

using System.Buffers.Binary;
using System.Numerics;
using Imprint.DiskImages.Formats;

namespace Imprint.DiskImages.Vhdx;

/// <summary>
/// VHDX ([MS-VHDX] v1.0): file identifier, two headers and two region tables with CRC-32C checksums, a metadata
/// region (block size, disk size, sector size) and a BAT of 64-bit entries where every chunk of payload entries
/// is followed by one sector-bitmap entry.
/// </summary>
internal sealed class VhdxImage : DiskImage
{
    public static ReadOnlySpan<byte> Signature => "vhdxfile"u8;

    private static readonly Guid BatRegion = new("2DC27766-F623-4200-9D64-115E9BFD4A08");
    private static readonly Guid MetadataRegion = new("8B7CA206-4790-4B9A-B8FE-575F050F886E");
    private static readonly Guid FileParameters = new("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
    private static readonly Guid VirtualDiskSize = new("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
    private static readonly Guid LogicalSectorSize = new("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
    private static readonly Guid PhysicalSectorSize = new("CDA348C7-445D-4471-9CC9-E9885251C556");
    private static readonly Guid Page83Data = new("BECA12AB-B2E6-4523-93EF-C309E000C746");
    private static readonly Guid ParentLocator = new("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");

    private const long Mib = 1 << 20;

    private readonly long _blockSize;
    private readonly long _chunkRatio;
    private readonly long _batOffset;
    private readonly long _batBytes;

    private VhdxImage(ImageFile file, long virtualSize, long blockSize, long chunkRatio, long batOffset, long batBytes)
        : base(file)
    {
        VirtualSize = virtualSize;
        _blockSize = blockSize;
        _chunkRatio = chunkRatio;
        _batOffset = batOffset;
        _batBytes = batBytes;
    }

    public override string Format => "vhdx";

    public override long VirtualSize { get; }

    public static VhdxImage Open(ImageFile file)
    {
        if (file.Length < 1 * Mib)
            throw new InvalidImageException($"vhdx: the file ({file.Length} bytes) is shorter than the 1 MiB of VHDX headers");
        Span<byte> identifier = stackalloc byte[8];
        file.ReadExactly(0, identifier, "vhdx file identifier");
        if (!identifier.SequenceEqual(Signature))
            throw new InvalidImageException("vhdx: bad signature, this is not a VHDX image");

        var header = CurrentHeader(file);
        var logGuid = new Guid(header.AsSpan(48, 16));
        if (logGuid != Guid.Empty)
            throw new InvalidImageException("vhdx: the log holds unreplayed writes (the image was not closed cleanly); open it in Hyper-V or qemu once to replay it");
        var version = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(66));
        if (version != 1)
            throw new InvalidImageException($"vhdx: header version {version} is not supported");

        var regions = ReadRegionTable(file, 192 * 1024) ?? ReadRegionTable(file, 256 * 1024)
            ?? throw new InvalidImageException("vhdx: both region tables are corrupt (bad signature or checksum)");
        long batOffset = -1, batLength = 0, metadataOffset = -1, metadataLength = 0;
        foreach (var (guid, offset, length, required) in regions)
        {
            if (guid == BatRegion)
                (batOffset, batLength) = (offset, length);
            else if (guid == MetadataRegion)
                (metadataOffset, metadataLength) = (offset, length);
            else if (required)
                throw new InvalidImageException($"vhdx: required region {guid} is unknown");
            if (offset < Mib || offset % Mib != 0 || offset > file.Length || length > file.Length - offset)
                throw new InvalidImageException($"vhdx: region {guid} at {offset} (+{length}) lies outside the file or in its headers");
        }
        if (batOffset < 0 || metadataOffset < 0)
            throw new InvalidImageException("vhdx: the region table lacks the BAT or the metadata region");
        if (batOffset < metadataOffset + metadataLength && metadataOffset < batOffset + batLength)
            throw new InvalidImageException("vhdx: the BAT and metadata regions overlap");

        var (blockSize, virtualSize, sectorSize) = ReadMetadata(file, metadataOffset, metadataLength);
        var chunkRatio = (1L << 23) * sectorSize / blockSize;
        var payloadBlocks = (virtualSize + blockSize - 1) / blockSize;
        var entries = payloadBlocks == 0 ? 0 : payloadBlocks + ((payloadBlocks - 1) / chunkRatio);
        if (entries * 8 > batLength)
            throw new InvalidImageException($"vhdx: the BAT region ({batLength} bytes) is too small for {entries} entries");
        return new VhdxImage(file, virtualSize, blockSize, chunkRatio, batOffset, entries * 8);
    }

    private static byte[] CurrentHeader(ImageFile file)
    {
        byte[]? best = null;
        ulong bestSequence = 0;
        foreach (var offset in new long[] { 64 * 1024, 128 * 1024 })
        {
            var header = new byte[4096];
            file.ReadExactly(offset, header, "vhdx header");
            if (!header.AsSpan(0, 4).SequenceEqual("head"u8) || !ChecksumOk(header))
                continue;
            var sequence = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(8));
            if (best is null || sequence > bestSequence)
                (best, bestSequence) = (header, sequence);
        }
        return best ?? throw new InvalidImageException("vhdx: both headers are corrupt (bad signature or checksum)");
    }

    private static List<(Guid Guid, long Offset, long Length, bool Required)>? ReadRegionTable(ImageFile file, long offset)
    {
        var table = new byte[64 * 1024];
        file.ReadExactly(offset, table, "vhdx region table");
        if (!table.AsSpan(0, 4).SequenceEqual("regi"u8) || !ChecksumOk(table))
            return null;
        var count = BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(8));
        if (count > 2047)
            throw new InvalidImageException($"vhdx: the region table claims {count} entries, more than fit");
        var regions = new List<(Guid, long, long, bool)>();
        for (var i = 0; i < count; i++)
        {
            var entry = table.AsSpan(16 + (i * 32), 32);
            var fileOffset = BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]);
            if (fileOffset > long.MaxValue)
                throw new InvalidImageException($"vhdx: region {i} has an absurd offset");
            regions.Add((new Guid(entry[..16]), (long)fileOffset, BinaryPrimitives.ReadUInt32LittleEndian(entry[24..]), (BinaryPrimitives.ReadUInt32LittleEndian(entry[28..]) & 1) != 0));
        }
        return regions;
    }

    private static (long BlockSize, long VirtualSize, long SectorSize) ReadMetadata(ImageFile file, long offset, long length)
    {
        if (length < 64 * 1024)
            throw new InvalidImageException($"vhdx: the metadata region ({length} bytes) is smaller than its 64 KiB table");
        var table = new byte[64 * 1024];
        file.ReadExactly(offset, table, "vhdx metadata table");
        if (!table.AsSpan(0, 8).SequenceEqual("metadata"u8))
            throw new InvalidImageException("vhdx: the metadata table has a bad signature");
        var count = BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(10));
        if (count > 2047)
            throw new InvalidImageException($"vhdx: the metadata table claims {count} entries, more than fit");
        long? blockSize = null, virtualSize = null, sectorSize = null;
        Span<byte> item = stackalloc byte[8];
        for (var i = 0; i < count; i++)
        {
            var entry = table.AsSpan(32 + (i * 32), 32);
            var id = new Guid(entry[..16]);
            var itemOffset = BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]);
            var itemLength = BinaryPrimitives.ReadUInt32LittleEndian(entry[20..]);
            var flags = BinaryPrimitives.ReadUInt32LittleEndian(entry[24..]);
            if (itemLength == 0)
                continue;
            if (itemOffset < 64 * 1024 || itemOffset > length || itemLength > length - itemOffset)
                throw new InvalidImageException($"vhdx: metadata item {id} at {itemOffset} (+{itemLength}) lies outside the metadata region");
            if (id == ParentLocator)
                throw new InvalidImageException("vhdx: the image is a differencing disk with a parent; only self-contained images can be fingerprinted");
            if (id != FileParameters && id != VirtualDiskSize && id != LogicalSectorSize && id != PhysicalSectorSize && id != Page83Data)
            {
                if ((flags & 4) != 0)
                    throw new InvalidImageException($"vhdx: required metadata item {id} is unknown");
                continue;
            }
            if (id == Page83Data || id == PhysicalSectorSize)
                continue;
            if (itemLength < (id == LogicalSectorSize ? 4 : 8))
                throw new InvalidImageException($"vhdx: metadata item {id} is too short");
            file.ReadExactly(offset + itemOffset, item[..(id == LogicalSectorSize ? 4 : 8)], "vhdx metadata item");
            if (id == FileParameters)
            {
                blockSize = BinaryPrimitives.ReadUInt32LittleEndian(item);
                if ((BinaryPrimitives.ReadUInt32LittleEndian(item[4..]) & 2) != 0)
                    throw new InvalidImageException("vhdx: the image is a differencing disk with a parent; only self-contained images can be fingerprinted");
            }
            else if (id == VirtualDiskSize)
            {
                var size = BinaryPrimitives.ReadUInt64LittleEndian(item);
                if (size > ImageLimits.MaxVirtualSize)
                    throw new InvalidImageException($"vhdx: virtual size {size} bytes exceeds the {ImageLimits.MaxVirtualSizeText} limit");
                virtualSize = (long)size;
            }
            else
            {
                sectorSize = BinaryPrimitives.ReadUInt32LittleEndian(item);
            }
        }
        if (blockSize is not { } block || virtualSize is not { } disk || sectorSize is not { } sector)
            throw new InvalidImageException("vhdx: the metadata lacks the block size, disk size or logical sector size");
        if (block < Mib || block > 256 * Mib || (block & (block - 1)) != 0)
            throw new InvalidImageException($"vhdx: block size {block} is not a power of two between 1 MiB and 256 MiB");
        if (sector is not (512 or 4096))
            throw new InvalidImageException($"vhdx: logical sector size {sector} is not 512 or 4096");
        if (disk % sector != 0)
            throw new InvalidImageException($"vhdx: disk size {disk} is not a multiple of the {sector}-byte sector");
        return (block, disk, sector);
    }

    /// <summary>CRC-32C over the structure with its checksum field (bytes 4..8) taken as zero.</summary>
    private static bool ChecksumOk(ReadOnlySpan<byte> structure)
    {
        var stored = BinaryPrimitives.ReadUInt32LittleEndian(structure[4..]);
        var crc = Crc32C(uint.MaxValue, structure[..4]);
        crc = Crc32C(crc, [0, 0, 0, 0]);
        crc = Crc32C(crc, structure[8..]);
        return ~crc == stored;
    }

    private static uint Crc32C(uint crc, ReadOnlySpan<byte> data)
    {
        var i = 0;
        for (; i + 8 <= data.Length; i += 8)
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        for (; i < data.Length; i++)
            crc = BitOperations.Crc32C(crc, data[i]);
        return crc;
    }

    public override Extent Map(long offset, ReadContext context)
    {
        var block = offset / _blockSize;
        var index = block + (block / _chunkRatio);
        var pageStart = (index * 8) & ~4095L;
        var page = context.Table(File, _batOffset + pageStart, (int)Math.Min(4096, _batBytes - pageStart), "vhdx BAT");
        var entry = BinaryPrimitives.ReadUInt64LittleEndian(page[(int)(index * 8 - pageStart)..]);
        var blockStart = block * _blockSize;
        var length = Math.Min(_blockSize, VirtualSize - blockStart);
        var state = entry & 7;
        switch (state)
        {
            case 0 or 1 or 2 or 3:
                // Not present, undefined, zero, unmapped: without a parent all read as zeros.
                return Extent.Zero(blockStart, length);
            case 6:
                var megabytes = entry >> 20;
                if (megabytes > (ulong)(File.Length / Mib))
                    throw new InvalidImageException($"vhdx: payload block {block} at {megabytes} MiB lies past the end of the file ({File.Length} bytes)");
                var host = (long)megabytes * Mib;
                if (host < Mib)
                    throw new InvalidImageException($"vhdx: payload block {block} at {host} points into the headers");
                if (host >= File.Length || length > File.Length - host)
                    throw new InvalidImageException($"vhdx: payload block {block} at {host} lies past the end of the file ({File.Length} bytes)");
                if (host < _batOffset + _batBytes && _batOffset < host + _blockSize)
                    throw new InvalidImageException($"vhdx: payload block {block} at {host} overlaps the BAT");
                return new Extent(blockStart, length, ExtentKind.Data, host);
            case 7:
                throw new InvalidImageException($"vhdx: payload block {block} is partially present, which needs a parent disk");
            default:
                throw new InvalidImageException($"vhdx: payload block {block} has invalid state {state}");
        }
    }
}

using System.Buffers.Binary;
using System.Text;
using Imprint.DiskImages.Formats;

namespace Imprint.DiskImages.Vmdk;

/// <summary>
/// VMDK hosted sparse extents (VMware's "Virtual Disk Format 5.0"): monolithicSparse and streamOptimized.
/// Grain directory → grain table → grain; streamOptimized grains are zlib-compressed behind a small marker, and
/// its real header may sit in a footer at the end of the file.
/// </summary>
internal sealed class VmdkImage : DiskImage
{
    public const uint Magic = 0x564d444b; // "KDMV" on disk

    private const ulong GdAtEnd = ulong.MaxValue;
    private const int MaxGdBytes = 32 << 20;

    private readonly long _grainBytes;
    private readonly int _gtEntries;
    private readonly long _gdOffset;
    private readonly long _gdBytes;
    private readonly bool _compressed;
    private readonly long _overhead;

    private VmdkImage(ImageFile file, long virtualSize, long grainBytes, int gtEntries, long gdOffset, long gdEntries, bool compressed, long overhead)
        : base(file)
    {
        VirtualSize = virtualSize;
        _grainBytes = grainBytes;
        _gtEntries = gtEntries;
        _gdOffset = gdOffset;
        _gdBytes = gdEntries * 4;
        _compressed = compressed;
        _overhead = overhead;
    }

    public override string Format => "vmdk";

    public override long VirtualSize { get; }

    public static VmdkImage Open(ImageFile file)
    {
        Span<byte> header = stackalloc byte[512];
        header.Clear();
        file.ReadUpTo(0, header, table: true);
        if (header.StartsWith("# Disk DescriptorFile"u8))
            throw new InvalidImageException("vmdk: this is a descriptor file whose data lives in other files; only monolithicSparse and streamOptimized images can be fingerprinted");
        if (file.Length < 512)
            throw new InvalidImageException($"vmdk: the file ({file.Length} bytes) is shorter than a sparse extent header");
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
            throw new InvalidImageException("vmdk: bad magic, this is not a VMDK sparse extent");
        var gdOffset = BinaryPrimitives.ReadUInt64LittleEndian(header[56..]);
        var descriptorOffset = BinaryPrimitives.ReadUInt64LittleEndian(header[28..]);
        var descriptorSectors = BinaryPrimitives.ReadUInt64LittleEndian(header[36..]);
        if (gdOffset == GdAtEnd)
        {
            // streamOptimized written in one pass: the usable header is the footer, 1 KiB before the end-of-stream marker.
            if (file.Length < 1536)
                throw new InvalidImageException("vmdk: the grain directory is at the end but the file has no footer");
            file.ReadExactly(file.Length - 1024, header, "vmdk footer");
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
                throw new InvalidImageException("vmdk: the footer that should hold the grain directory offset is missing or corrupt");
            gdOffset = BinaryPrimitives.ReadUInt64LittleEndian(header[56..]);
            if (gdOffset == GdAtEnd)
                throw new InvalidImageException("vmdk: the footer does not say where the grain directory is");
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        var capacity = BinaryPrimitives.ReadUInt64LittleEndian(header[12..]);
        var grainSectors = BinaryPrimitives.ReadUInt64LittleEndian(header[20..]);
        var gtEntries = BinaryPrimitives.ReadUInt32LittleEndian(header[44..]);
        var overhead = BinaryPrimitives.ReadUInt64LittleEndian(header[64..]);
        var compressAlgorithm = BinaryPrimitives.ReadUInt16LittleEndian(header[77..]);

        if (version is < 1 or > 3)
            throw new InvalidImageException($"vmdk: version {version} is not supported");
        if (grainSectors is < 1 or > 4096 || (grainSectors & (grainSectors - 1)) != 0)
            throw new InvalidImageException($"vmdk: grain size of {grainSectors} sectors is not a power of two up to 2 MiB");
        if (gtEntries is < 1 or > 4096 || (gtEntries & (gtEntries - 1)) != 0)
            throw new InvalidImageException($"vmdk: {gtEntries} entries per grain table is invalid");
        if (capacity > ImageLimits.MaxVirtualSize / 512)
            throw new InvalidImageException($"vmdk: capacity of {capacity} sectors exceeds the {ImageLimits.MaxVirtualSizeText} limit");
        var compressed = (flags & (1u << 16)) != 0;
        if (compressed && compressAlgorithm != 1)
            throw new InvalidImageException($"vmdk: compression algorithm {compressAlgorithm} is not supported (only deflate)");
        CheckDescriptor(file, descriptorOffset, descriptorSectors);

        var grainBytes = (long)grainSectors * 512;
        var virtualSize = (long)capacity * 512;
        var gtSpan = grainBytes * gtEntries;
        var gdEntries = (virtualSize + gtSpan - 1) / gtSpan;
        if (gdEntries * 4 > MaxGdBytes)
            throw new InvalidImageException($"vmdk: the grain directory ({gdEntries} entries) is larger than 32 MiB");
        if (gdEntries > 0)
        {
            if (gdOffset == 0)
                throw new InvalidImageException("vmdk: the grain directory offset is zero (it points into the header)");
            if (gdOffset > (ulong)file.Length / 512 || (long)gdOffset * 512 + (gdEntries * 4) > file.Length)
                throw new InvalidImageException($"vmdk: the grain directory at sector {gdOffset} lies past the end of the file");
        }
        return new VmdkImage(file, virtualSize, grainBytes, (int)gtEntries, (long)gdOffset * 512, gdEntries, compressed, (long)overhead);
    }

    private static void CheckDescriptor(ImageFile file, ulong offset, ulong sectors)
    {
        if (offset == 0 || sectors == 0)
            return;
        if (sectors > 2048 || offset > (ulong)file.Length / 512 || (offset + sectors) * 512 > (ulong)file.Length)
            throw new InvalidImageException($"vmdk: the embedded descriptor at sector {offset} ({sectors} sectors) lies past the end of the file");
        var buffer = new byte[(int)sectors * 512];
        file.ReadExactly((long)offset * 512, buffer, "vmdk descriptor");
        var text = Encoding.ASCII.GetString(buffer).TrimEnd('\0');
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("parentCID", StringComparison.Ordinal) && !line.EndsWith("ffffffff", StringComparison.OrdinalIgnoreCase))
                throw new InvalidImageException("vmdk: the image is a delta disk with a parent; only self-contained images can be fingerprinted");
            if (line.StartsWith("createType", StringComparison.Ordinal)
                && !(line.Contains("monolithicSparse", StringComparison.Ordinal) || line.Contains("streamOptimized", StringComparison.Ordinal)))
                throw new InvalidImageException($"vmdk: create type {ImageLimits.Printable(line["createType".Length..].Trim(' ', '=', '"'))} is not supported (only monolithicSparse and streamOptimized)");
        }
    }

    public override Extent Map(long offset, ReadContext context)
    {
        var grain = offset / _grainBytes;
        var gdIndex = grain / _gtEntries;
        var gtIndex = (int)(grain % _gtEntries);
        var pageStart = (gdIndex * 4) & ~4095L;
        var page = context.Table(File, _gdOffset + pageStart, (int)Math.Min(4096, _gdBytes - pageStart), "vmdk grain directory");
        var gtSector = BinaryPrimitives.ReadUInt32LittleEndian(page[(int)(gdIndex * 4 - pageStart)..]);
        var gtSpan = _grainBytes * _gtEntries;
        if (gtSector == 0)
        {
            var start = gdIndex * gtSpan;
            return Extent.Zero(start, Math.Min(gtSpan, VirtualSize - start));
        }
        var gtOffset = (long)gtSector * 512;
        var gtBytes = _gtEntries * 4;
        if (gtOffset + gtBytes > File.Length)
            throw new InvalidImageException($"vmdk: grain table {gdIndex} at sector {gtSector} lies past the end of the file ({File.Length} bytes)");
        if (gtOffset < _gdOffset + _gdBytes && _gdOffset < gtOffset + gtBytes)
            throw new InvalidImageException($"vmdk: grain table {gdIndex} at sector {gtSector} overlaps the grain directory");
        var gt = ((VmdkContext)context).GrainTable(File, gtOffset, gtBytes);
        var grainSector = BinaryPrimitives.ReadUInt32LittleEndian(gt[(gtIndex * 4)..]);
        var grainStart = grain * _grainBytes;
        var grainLength = Math.Min(_grainBytes, VirtualSize - grainStart);
        // 0: never written; 1: written as zeros (the zeroed-grain convention).
        if (grainSector is 0 or 1)
            return Extent.Zero(grainStart, grainLength);
        var host = (long)grainSector * 512;
        if (host < 512 || (_overhead > 0 && grainSector < _overhead && !_compressed))
            throw new InvalidImageException($"vmdk: grain {grain} at sector {grainSector} points into the metadata before the grains");
        if (host >= File.Length)
            throw new InvalidImageException($"vmdk: grain {grain} at sector {grainSector} lies past the end of the file ({File.Length} bytes)");
        if (host < _gdOffset + _gdBytes && _gdOffset < host + _grainBytes)
            throw new InvalidImageException($"vmdk: grain {grain} at sector {grainSector} overlaps the grain directory");
        if (!_compressed)
            return new Extent(grainStart, grainLength, ExtentKind.Data, host);
        return new Extent(grainStart, _grainBytes, ExtentKind.Compressed, host, Math.Min(File.Length - host, _grainBytes + 1024 + 12));
    }

    public override ReadContext CreateContext() => new VmdkContext();

    protected override void Decompress(in Extent extent, Span<byte> cluster, ReadContext context)
    {
        var grain = extent.GuestOffset / _grainBytes;
        var what = $"vmdk: compressed grain {grain}";
        var buffer = context.Rent(ref context.CompressedScratch, (int)extent.HostLength);
        var got = File.ReadUpTo(extent.HostOffset, buffer.AsSpan(0, (int)extent.HostLength));
        if (got < 12)
            throw new InvalidImageException($"{what} is cut short by the end of the file");
        var lba = BinaryPrimitives.ReadUInt64LittleEndian(buffer);
        var size = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(8));
        if (lba != (ulong)(grain * (_grainBytes / 512)))
            throw new InvalidImageException($"{what} is labelled for sector {lba}, not {grain * (_grainBytes / 512)}");
        if (size == 0 || size > got - 12)
            throw new InvalidImageException($"{what} claims {size} compressed bytes, more than the grain or the file holds");
        // The last grain may stop at the end of the disk, as qemu writes it.
        var needed = (int)Math.Min(cluster.Length, VirtualSize - extent.GuestOffset);
        Compression.Inflate(buffer.AsSpan(12, (int)size), cluster, zlibHeader: true, what, needed);
    }

    private sealed class VmdkContext : ReadContext
    {
        private long _gtOffset = -1;
        private byte[]? _gt;

        public ReadOnlySpan<byte> GrainTable(ImageFile file, long offset, int length)
        {
            if (_gtOffset != offset)
            {
                _gt = Rent(ref _gt, length);
                _gtOffset = -1;
                file.ReadExactly(offset, _gt.AsSpan(0, length), "vmdk grain table");
                _gtOffset = offset;
            }
            return _gt.AsSpan(0, length);
        }
    }
}

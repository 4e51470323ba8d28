using System.Buffers.Binary;
using Imprint.DiskImages.Formats;

namespace Imprint.DiskImages.Qcow2;

/// <summary>
/// qcow2 versions 2 and 3 (qemu docs/interop/qcow2.txt): L1 → L2 → cluster, zero clusters, zlib and zstd
/// compressed clusters, extended L2 entries with subclusters. Only the active L1 table is read; snapshots and
/// refcounts do not change what the guest sees.
/// </summary>
internal sealed class Qcow2Image : DiskImage
{
    public const uint Magic = 0x514649fb; // "QFI\xfb"

    private const ulong OffsetMask = 0x00ff_ffff_ffff_fe00;
    private const ulong CompressedFlag = 1UL << 62;
    private const ulong KnownIncompatible = 0b1_1111; // dirty, corrupt, external data, compression type, extended L2
    private const int MaxL1Bytes = 32 << 20; // qemu's own limit on the L1 table

    private readonly int _clusterBits;
    private readonly long _clusterSize;
    private readonly int _l2Bits;
    private readonly int _entryBytes;
    private readonly bool _extendedL2;
    private readonly bool _zstd;
    private readonly long _l1Offset;
    private readonly long _l1Bytes;
    private readonly int _compressedOffsetBits;

    private Qcow2Image(ImageFile file, long virtualSize, int clusterBits, bool extendedL2, bool zstd, long l1Offset, long l1Entries)
        : base(file)
    {
        VirtualSize = virtualSize;
        _clusterBits = clusterBits;
        _clusterSize = 1L << clusterBits;
        _extendedL2 = extendedL2;
        _entryBytes = extendedL2 ? 16 : 8;
        _l2Bits = clusterBits - (extendedL2 ? 4 : 3);
        _zstd = zstd;
        _l1Offset = l1Offset;
        _l1Bytes = l1Entries * 8;
        _compressedOffsetBits = 62 - (clusterBits - 8);
    }

    public override string Format => "qcow2";

    public override long VirtualSize { get; }

    public static Qcow2Image Open(ImageFile file)
    {
        Span<byte> header = stackalloc byte[112];
        header.Clear();
        if (file.Length < 72)
            throw new InvalidImageException($"qcow2: the file ({file.Length} bytes) is shorter than a qcow2 header");
        file.ReadExactly(0, header[..(int)Math.Min(112, file.Length)], "qcow2 header");
        if (BinaryPrimitives.ReadUInt32BigEndian(header) != Magic)
            throw new InvalidImageException("qcow2: bad magic, this is not a qcow2 image");
        var version = BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
        if (version is not (2 or 3))
            throw new InvalidImageException($"qcow2: version {version} is not supported (only 2 and 3)");
        var backingOffset = BinaryPrimitives.ReadUInt64BigEndian(header[8..]);
        var clusterBits = BinaryPrimitives.ReadUInt32BigEndian(header[20..]);
        var size = BinaryPrimitives.ReadUInt64BigEndian(header[24..]);
        var cryptMethod = BinaryPrimitives.ReadUInt32BigEndian(header[32..]);
        var l1Entries = BinaryPrimitives.ReadUInt32BigEndian(header[36..]);
        var l1Offset = BinaryPrimitives.ReadUInt64BigEndian(header[40..]);

        if (clusterBits is < 9 or > 21)
            throw new InvalidImageException($"qcow2: cluster size 2^{clusterBits} is outside 512 B to 2 MiB");
        var clusterSize = 1L << (int)clusterBits;
        if (backingOffset != 0)
            throw new InvalidImageException("qcow2: the image has a backing file; only self-contained images can be fingerprinted");
        if (cryptMethod != 0)
            throw new InvalidImageException("qcow2: the image is encrypted");

        var extendedL2 = false;
        var zstd = false;
        long headerLength = 72;
        if (version == 3)
        {
            if (file.Length < 104)
                throw new InvalidImageException("qcow2: the file is shorter than a version 3 header");
            var incompatible = BinaryPrimitives.ReadUInt64BigEndian(header[72..]);
            var refcountOrder = BinaryPrimitives.ReadUInt32BigEndian(header[96..]);
            headerLength = BinaryPrimitives.ReadUInt32BigEndian(header[100..]);
            if ((incompatible & ~KnownIncompatible) != 0)
                throw new InvalidImageException($"qcow2: unknown incompatible features 0x{incompatible & ~KnownIncompatible:x}");
            if ((incompatible & 2) != 0)
                throw new InvalidImageException("qcow2: the image is marked corrupt");
            if ((incompatible & 4) != 0)
                throw new InvalidImageException("qcow2: the image keeps its data in an external data file");
            if (refcountOrder > 6)
                throw new InvalidImageException($"qcow2: refcount order {refcountOrder} is invalid");
            if (headerLength < 104 || headerLength > clusterSize || headerLength % 8 != 0)
                throw new InvalidImageException($"qcow2: header length {headerLength} is invalid");
            if ((incompatible & 8) != 0)
            {
                if (headerLength < 105)
                    throw new InvalidImageException("qcow2: the compression type bit is set but the header has no compression type");
                var compressionType = header[104];
                zstd = compressionType switch
                {
                    0 => false,
                    1 => true,
                    _ => throw new InvalidImageException($"qcow2: unknown compression type {compressionType}"),
                };
            }
            extendedL2 = (incompatible & 16) != 0;
            if (extendedL2 && clusterBits < 14)
                throw new InvalidImageException("qcow2: extended L2 entries need clusters of at least 16 KiB");
        }

        if (size > ImageLimits.MaxVirtualSize)
            throw new InvalidImageException($"qcow2: virtual size {size} bytes exceeds the {ImageLimits.MaxVirtualSizeText} limit");
        ReadExtensions(file, headerLength, clusterSize);

        var l2Bits = (int)clusterBits - (extendedL2 ? 4 : 3);
        var neededL1 = (long)((size + (ulong)(clusterSize << l2Bits) - 1) >> ((int)clusterBits + l2Bits));
        if (l1Entries < neededL1)
            throw new InvalidImageException($"qcow2: the L1 table has {l1Entries} entries, fewer than the {neededL1} the virtual size needs");
        if ((long)l1Entries * 8 > MaxL1Bytes)
            throw new InvalidImageException($"qcow2: the L1 table ({l1Entries} entries) is larger than 32 MiB");
        if (neededL1 > 0)
        {
            if (l1Offset % (ulong)clusterSize != 0)
                throw new InvalidImageException($"qcow2: the L1 table offset 0x{l1Offset:x} is not cluster-aligned");
            if (l1Offset < (ulong)clusterSize)
                throw new InvalidImageException($"qcow2: the L1 table offset 0x{l1Offset:x} points into the header");
            if (l1Offset > (ulong)file.Length || (ulong)neededL1 * 8 > (ulong)file.Length - l1Offset)
                throw new InvalidImageException($"qcow2: the L1 table at 0x{l1Offset:x} lies past the end of the file");
        }
        return new Qcow2Image(file, (long)size, (int)clusterBits, extendedL2, zstd, (long)l1Offset, neededL1);
    }

    private static void ReadExtensions(ImageFile file, long offset, long clusterSize)
    {
        // Extensions live in the first cluster; the walk always advances, so it ends.
        Span<byte> entry = stackalloc byte[8];
        var end = Math.Min(clusterSize, file.Length);
        while (offset + 8 <= end)
        {
            file.ReadExactly(offset, entry, "qcow2 header extension");
            var type = BinaryPrimitives.ReadUInt32BigEndian(entry);
            var length = BinaryPrimitives.ReadUInt32BigEndian(entry[4..]);
            if (type == 0)
                return;
            if (type == 0x4441_5441)
                throw new InvalidImageException("qcow2: the image keeps its data in an external data file");
            if (type == 0x0537_be77)
                throw new InvalidImageException("qcow2: the image is encrypted");
            var next = offset + 8 + ((length + 7L) & ~7L);
            if (next > end)
                throw new InvalidImageException($"qcow2: header extension 0x{type:x8} runs past the first cluster");
            offset = next;
        }
    }

    public override Extent Map(long offset, ReadContext context)
    {
        var clusterIndex = offset >> _clusterBits;
        var l1Index = clusterIndex >> _l2Bits;
        var l2Index = (int)(clusterIndex & ((1L << _l2Bits) - 1));
        var l2Span = _clusterSize << _l2Bits;

        // The L1 table is read in 4 KiB pages and cached per worker.
        var pageStart = (l1Index * 8) & ~4095L;
        var page = context.Table(File, _l1Offset + pageStart, (int)Math.Min(4096, _l1Bytes - pageStart), "qcow2 L1 table");
        var l1Entry = BinaryPrimitives.ReadUInt64BigEndian(page[(int)(l1Index * 8 - pageStart)..]);
        var l2Offset = (long)(l1Entry & OffsetMask);
        if (l2Offset == 0)
        {
            var start = l1Index * l2Span;
            return Extent.Zero(start, Math.Min(l2Span, VirtualSize - start));
        }
        CheckTable(l2Offset, l1Index);

        var qcontext = (Qcow2Context)context;
        var l2 = qcontext.L2(File, l2Offset, (int)_clusterSize);
        var entry = BinaryPrimitives.ReadUInt64BigEndian(l2[(l2Index * _entryBytes)..]);
        var clusterStart = clusterIndex << _clusterBits;
        var clusterLength = Math.Min(_clusterSize, VirtualSize - clusterStart);

        if ((entry & CompressedFlag) != 0)
        {
            var host = (long)(entry & ((1UL << _compressedOffsetBits) - 1));
            var sectors = (long)((entry >> _compressedOffsetBits) & ((1UL << (_clusterBits - 8)) - 1)) + 1;
            var hostEnd = (host & ~511L) + (sectors * 512);
            if (host < _clusterSize)
                throw new InvalidImageException($"qcow2: compressed cluster {clusterIndex} at 0x{host:x} points into the header");
            if (host >= File.Length)
                throw new InvalidImageException($"qcow2: compressed cluster {clusterIndex} at 0x{host:x} lies past the end of the file ({File.Length} bytes)");
            return new Extent(clusterStart, _clusterSize, ExtentKind.Compressed, host, Math.Min(hostEnd, File.Length) - host);
        }

        var hostOffset = (long)(entry & OffsetMask);
        if (_extendedL2)
            return MapSubcluster(offset, clusterStart, clusterIndex, hostOffset, BinaryPrimitives.ReadUInt64BigEndian(l2[(l2Index * 16 + 8)..]));
        if ((entry & 1) != 0 || hostOffset == 0)
            return Extent.Zero(clusterStart, clusterLength);
        CheckData(hostOffset, clusterIndex);
        return new Extent(clusterStart, clusterLength, ExtentKind.Data, hostOffset);
    }

    private Extent MapSubcluster(long offset, long clusterStart, long clusterIndex, long hostOffset, ulong bitmap)
    {
        var subSize = _clusterSize / 32;
        var sub = (int)((offset - clusterStart) / subSize);
        var subStart = clusterStart + (sub * subSize);
        var length = Math.Min(subSize, VirtualSize - subStart);
        var allocated = ((bitmap >> sub) & 1) != 0;
        var zero = ((bitmap >> (32 + sub)) & 1) != 0;
        if (allocated && zero)
            throw new InvalidImageException($"qcow2: subcluster {sub} of cluster {clusterIndex} is marked both allocated and zero");
        if (!allocated)
            return Extent.Zero(subStart, length);
        if (hostOffset == 0)
            throw new InvalidImageException($"qcow2: cluster {clusterIndex} has allocated subclusters but no host offset");
        CheckData(hostOffset, clusterIndex);
        return new Extent(subStart, length, ExtentKind.Data, hostOffset + (sub * subSize));
    }

    private void CheckTable(long l2Offset, long l1Index)
    {
        if ((l2Offset & (_clusterSize - 1)) != 0)
            throw new InvalidImageException($"qcow2: L2 table {l1Index} at 0x{l2Offset:x} is not cluster-aligned");
        if (l2Offset < _clusterSize)
            throw new InvalidImageException($"qcow2: L2 table {l1Index} at 0x{l2Offset:x} points into the header");
        if (l2Offset + _clusterSize > File.Length)
            throw new InvalidImageException($"qcow2: L2 table {l1Index} at 0x{l2Offset:x} lies past the end of the file ({File.Length} bytes)");
        if (l2Offset < _l1Offset + _l1Bytes && _l1Offset < l2Offset + _clusterSize)
            throw new InvalidImageException($"qcow2: L2 table {l1Index} at 0x{l2Offset:x} overlaps the L1 table");
    }

    private void CheckData(long hostOffset, long clusterIndex)
    {
        if ((hostOffset & (_clusterSize - 1)) != 0)
            throw new InvalidImageException($"qcow2: cluster {clusterIndex} at 0x{hostOffset:x} is not cluster-aligned");
        if (hostOffset < _clusterSize)
            throw new InvalidImageException($"qcow2: cluster {clusterIndex} at 0x{hostOffset:x} points into the header");
        if (hostOffset >= File.Length)
            throw new InvalidImageException($"qcow2: cluster {clusterIndex} at 0x{hostOffset:x} lies past the end of the file ({File.Length} bytes)");
        if (hostOffset < _l1Offset + _l1Bytes && _l1Offset < hostOffset + _clusterSize)
            throw new InvalidImageException($"qcow2: cluster {clusterIndex} at 0x{hostOffset:x} overlaps the L1 table");
    }

    public override ReadContext CreateContext() => new Qcow2Context();

    protected override void Decompress(in Extent extent, Span<byte> cluster, ReadContext context)
    {
        var what = $"qcow2: compressed cluster {extent.GuestOffset >> _clusterBits}";
        // A compressed cluster never needs more room than the cluster itself plus a sector of rounding.
        var length = (int)Math.Min(extent.HostLength, _clusterSize + 1024);
        var buffer = context.Rent(ref context.CompressedScratch, length);
        var got = File.ReadUpTo(extent.HostOffset, buffer.AsSpan(0, length));
        if (_zstd)
            Compression.Unzstd(buffer.AsSpan(0, got), cluster, what);
        else
            Compression.Inflate(buffer.AsSpan(0, got), cluster, zlibHeader: false, what);
    }

    private sealed class Qcow2Context : ReadContext
    {
        private long _l2Offset = -1;
        private byte[]? _l2;

        public ReadOnlySpan<byte> L2(ImageFile file, long offset, int length)
        {
            if (_l2Offset != offset)
            {
                _l2 = Rent(ref _l2, length);
                _l2Offset = -1;
                file.ReadExactly(offset, _l2.AsSpan(0, length), "qcow2 L2 table");
                _l2Offset = offset;
            }
            return _l2.AsSpan(0, length);
        }
    }
}

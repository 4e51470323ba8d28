using System.Buffers;

namespace Imprint.DiskImages.Formats;

/// <summary>
/// A disk image opened for reading its guest-visible content. A reader maps guest offsets to extents (zero runs,
/// stored data, compressed clusters); this base class turns extents into bytes. Readers are thread-safe: all
/// per-thread state (table caches, scratch buffers) lives in a <see cref="ReadContext"/> that each worker owns.
/// </summary>
internal abstract class DiskImage
{
    protected DiskImage(ImageFile file) => File = file;

    /// <summary>raw, qcow2, vmdk, vhd or vhdx.</summary>
    public abstract string Format { get; }

    /// <summary>The guest-visible size in bytes.</summary>
    public abstract long VirtualSize { get; }

    public ImageFile File { get; }

    /// <summary>Per-thread state; one per worker.</summary>
    public virtual ReadContext CreateContext() => new();

    /// <summary>
    /// The extent holding guest offset <paramref name="offset"/> (0 &lt;= offset &lt; VirtualSize). Data and zero extents
    /// may start before the offset and run past it; the caller clips them. Must validate every host offset it returns.
    /// </summary>
    public abstract Extent Map(long offset, ReadContext context);

    /// <summary>Decompresses a whole compressed cluster into <paramref name="cluster"/> (exactly its guest length).</summary>
    protected virtual void Decompress(in Extent extent, Span<byte> cluster, ReadContext context) =>
        throw new InvalidOperationException($"{Format} has no compressed extents");

    /// <summary>Guest extents from the start of the disk to its end, merged where neighbours are of the same kind.</summary>
    public IEnumerable<Extent> EnumerateExtents()
    {
        var context = CreateContext();
        long offset = 0;
        Extent? pending = null;
        while (offset < VirtualSize)
        {
            var extent = Clip(Map(offset, context), offset, VirtualSize);
            offset = extent.End;
            if (pending is { } p && p.Kind == extent.Kind && extent.Kind != ExtentKind.Compressed
                && (extent.Kind == ExtentKind.Zero || p.HostOffset + p.Length == extent.HostOffset))
            {
                pending = p with { Length = p.Length + extent.Length };
                continue;
            }
            if (pending is { } done)
                yield return done;
            pending = extent;
        }
        if (pending is { } last)
            yield return last;
    }

    /// <summary>
    /// Fills <paramref name="destination"/> with the guest bytes at <paramref name="offset"/>. Returns false, without
    /// touching the buffer, when the whole range is known to be zeros from the tables alone.
    /// </summary>
    public bool Read(long offset, Span<byte> destination, ReadContext context)
    {
        var end = offset + destination.Length;
        var position = offset;
        var wroteAny = false;
        // Contiguous data extents coalesce into one positional read.
        long runGuest = -1, runHost = -1, runLength = 0;
        while (position < end)
        {
            var extent = Map(position, context);
            if (extent.GuestOffset > position || extent.End <= position || extent.Length <= 0)
                throw new InvalidOperationException($"{Format} reader mapped offset {position} to an extent that does not hold it");
            var clipped = Clip(extent, position, end);
            switch (extent.Kind)
            {
                case ExtentKind.Zero:
                    if (runLength > 0)
                        FlushRun(destination, offset, ref runGuest, ref runHost, ref runLength);
                    // Until the first data extent nothing is written: the caller learns the range was all zeros.
                    if (wroteAny)
                        destination.Slice((int)(position - offset), (int)clipped.Length).Clear();
                    break;
                case ExtentKind.Data:
                    if (!wroteAny)
                    {
                        destination[..(int)(position - offset)].Clear();
                        wroteAny = true;
                    }
                    if (runLength > 0 && runHost + runLength == clipped.HostOffset && runGuest + runLength == position)
                    {
                        runLength += clipped.Length;
                    }
                    else
                    {
                        if (runLength > 0)
                            FlushRun(destination, offset, ref runGuest, ref runHost, ref runLength);
                        runGuest = position;
                        runHost = clipped.HostOffset;
                        runLength = clipped.Length;
                    }
                    break;
                case ExtentKind.Compressed:
                    if (runLength > 0)
                        FlushRun(destination, offset, ref runGuest, ref runHost, ref runLength);
                    if (!wroteAny)
                    {
                        destination[..(int)(position - offset)].Clear();
                        wroteAny = true;
                    }
                    ReadCompressed(extent, clipped, destination.Slice((int)(position - offset), (int)clipped.Length), context);
                    break;
                default:
                    throw new InvalidOperationException($"unknown extent kind {extent.Kind}");
            }
            position = clipped.End;
        }
        if (runLength > 0)
            FlushRun(destination, offset, ref runGuest, ref runHost, ref runLength);
        return wroteAny;
    }

    private void FlushRun(Span<byte> destination, long offset, ref long runGuest, ref long runHost, ref long runLength)
    {
        var target = destination.Slice((int)(runGuest - offset), (int)runLength);
        File.ChargeMapped(runLength);
        // Data that starts inside the file but runs past its end reads as zeros, as qemu reads it.
        var read = File.ReadUpTo(runHost, target);
        target[read..].Clear();
        runLength = 0;
    }

    private void ReadCompressed(in Extent extent, in Extent clipped, Span<byte> target, ReadContext context)
    {
        var clusterLength = (int)extent.Length;
        // A share of the compressed bytes per read: a cluster larger than a block is read once per block.
        File.ChargeMapped(Math.Max(1, (extent.HostLength - 511) * clipped.Length / extent.Length));
        if (clipped.Length == extent.Length)
        {
            Decompress(extent, target, context);
            return;
        }
        var scratch = context.Rent(ref context.ClusterScratch, clusterLength);
        Decompress(extent, scratch.AsSpan(0, clusterLength), context);
        scratch.AsSpan((int)(clipped.GuestOffset - extent.GuestOffset), (int)clipped.Length).CopyTo(target);
    }

    private static Extent Clip(in Extent extent, long start, long end)
    {
        var from = Math.Max(extent.GuestOffset, start);
        var to = Math.Min(extent.End, end);
        return extent.Kind == ExtentKind.Data
            ? extent with { GuestOffset = from, Length = to - from, HostOffset = extent.HostOffset + (from - extent.GuestOffset) }
            : extent with { GuestOffset = from, Length = to - from };
    }
}

/// <summary>Per-worker state of a reader: scratch buffers and table caches. Not thread-safe; never shared.</summary>
internal class ReadContext
{
    private long _pageOffset = -1;
    private int _pageLength;
    private byte[]? _page;

    /// <summary>
    /// The table bytes [offset, offset + length), read once and kept while the worker stays in the same table:
    /// one read per table per worker instead of one per entry, and memory bounded by one table.
    /// </summary>
    public ReadOnlySpan<byte> Table(ImageFile file, long offset, int length, string what)
    {
        if (_pageOffset != offset || _pageLength != length)
        {
            _page = Rent(ref _page, length);
            _pageOffset = -1;
            file.ReadExactly(offset, _page.AsSpan(0, length), what);
            _pageOffset = offset;
            _pageLength = length;
        }
        return _page.AsSpan(0, length);
    }

    public byte[]? ClusterScratch;
    public byte[]? CompressedScratch;

    /// <summary>A buffer of at least <paramref name="length"/> bytes kept in <paramref name="slot"/> for reuse.</summary>
    public byte[] Rent(ref byte[]? slot, int length)
    {
        if (slot is null || slot.Length < length)
        {
            if (slot is not null)
                ArrayPool<byte>.Shared.Return(slot);
            slot = ArrayPool<byte>.Shared.Rent(length);
        }
        return slot;
    }
}

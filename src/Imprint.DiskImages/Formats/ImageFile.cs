using Microsoft.Win32.SafeHandles;

namespace Imprint.DiskImages.Formats;

/// <summary>Where an image file's bytes come from: positional reads of a local file, or byte ranges of a download.</summary>
internal interface IPositionalReader
{
    /// <summary>
    /// Reads up to <paramref name="destination"/>.Length bytes at <paramref name="offset"/>; fewer only at the end of
    /// the file. <paramref name="table"/> says the bytes are a header or table (small, anywhere in the file) rather than
    /// guest data (read front to back where the format lays it out so).
    /// </summary>
    int Read(Span<byte> destination, long offset, bool table);
}

/// <summary>
/// The image file, read only with positional reads (pread) so that any number of threads can share it. Counts the
/// bytes the content mapping pulls from it: a valid image never maps more than the file holds, so a larger total
/// means tables that overlap or point at each other in a loop, and we stop instead of hashing forever.
/// </summary>
internal sealed class ImageFile
{
    private readonly IPositionalReader _reader;
    private long _mappedBytes;

    public ImageFile(SafeFileHandle handle, long length)
        : this(new HandleReader(handle), length) =>
        Handle = handle;

    /// <summary>An image file that is not a local file; its reader need not be thread-safe when one thread reads it.</summary>
    public ImageFile(IPositionalReader reader, long length)
    {
        _reader = reader;
        Length = length;
    }

    /// <summary>The local file, or null when the bytes come from elsewhere (a download).</summary>
    public SafeFileHandle? Handle { get; }

    public long Length { get; }

    /// <summary>Reads exactly <paramref name="destination"/>.Length bytes at <paramref name="offset"/>, or fails naming <paramref name="what"/>.</summary>
    public void ReadExactly(long offset, Span<byte> destination, string what)
    {
        if (offset < 0 || offset > Length || destination.Length > Length - offset)
            throw new InvalidImageException($"{what} at offset {offset} (+{destination.Length} bytes) lies past the end of the file ({Length} bytes)");
        var done = 0;
        while (done < destination.Length)
        {
            var read = _reader.Read(destination[done..], offset + done, table: true);
            if (read == 0)
                throw new InvalidImageException($"{what} at offset {offset} is cut short: the file ended while reading it");
            done += read;
        }
    }

    /// <summary>
    /// Reads what exists of [offset, offset + length) and returns how many bytes that was (the rest is past the end).
    /// <paramref name="table"/>: a header rather than guest data (see <see cref="IPositionalReader.Read"/>).
    /// </summary>
    public int ReadUpTo(long offset, Span<byte> destination, bool table = false)
    {
        if (offset >= Length)
            return 0;
        var wanted = (int)Math.Min(destination.Length, Length - offset);
        var done = 0;
        while (done < wanted)
        {
            var read = _reader.Read(destination[done..wanted], offset + done, table);
            if (read == 0)
                break;
            done += read;
        }
        return done;
    }

    /// <summary>Accounts for file bytes the guest mapping uses; fails when the mapping uses more than the file has.</summary>
    public void ChargeMapped(long bytes)
    {
        // Slack for compressed clusters, whose declared ranges are rounded up to whole sectors and may share one.
        var total = Interlocked.Add(ref _mappedBytes, bytes);
        if (total > Length + (Length / 8) + (4L << 20))
            throw new InvalidImageException("the tables map more data than the file holds: clusters are referenced twice (overlapping or looping tables)");
    }

    private sealed class HandleReader(SafeFileHandle handle) : IPositionalReader
    {
        public int Read(Span<byte> destination, long offset, bool table) => RandomAccess.Read(handle, destination, offset);
    }
}

using Microsoft.Win32.SafeHandles;

namespace Imprint.DiskImages.Formats;

/// <summary>
/// The image file, read only with positional reads (pread) so that any number of threads can share it. Counts the
/// bytes the content mapping pulls from it: a valid image never maps more than the file holds, so a larger total
/// means tables that overlap or point at each other in a loop, and we stop instead of hashing forever.
/// </summary>
internal sealed class ImageFile
{
    private long _mappedBytes;

    public ImageFile(SafeFileHandle handle, long length)
    {
        Handle = handle;
        Length = length;
    }

    public SafeFileHandle Handle { get; }

    public long Length { get; }

    /// <summary>Reads exactly <paramref name="destination"/>.Length bytes at <paramref name="offset"/>, or fails naming <paramref name="what"/>.</summary>
    public void ReadExactly(long offset, Span<byte> destination, string what)
    {
        if (offset < 0 || offset > Length || destination.Length > Length - offset)
            throw new InvalidImageException($"{what} at offset {offset} (+{destination.Length} bytes) lies past the end of the file ({Length} bytes)");
        var done = 0;
        while (done < destination.Length)
        {
            var read = RandomAccess.Read(Handle, destination[done..], offset + done);
            if (read == 0)
                throw new InvalidImageException($"{what} at offset {offset} is cut short: the file ended while reading it");
            done += read;
        }
    }

    /// <summary>Reads what exists of [offset, offset + length) and returns how many bytes that was (the rest is past the end).</summary>
    public int ReadUpTo(long offset, Span<byte> destination)
    {
        if (offset >= Length)
            return 0;
        var wanted = (int)Math.Min(destination.Length, Length - offset);
        var done = 0;
        while (done < wanted)
        {
            var read = RandomAccess.Read(Handle, destination[done..wanted], offset + done);
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
}

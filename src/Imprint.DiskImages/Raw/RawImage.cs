using System.Runtime.InteropServices;
using Imprint.DiskImages.Formats;

namespace Imprint.DiskImages.Raw;

/// <summary>A raw image: the file is the disk. Holes (found with SEEK_DATA/SEEK_HOLE where the OS has them) read as zeros without being read.</summary>
internal sealed partial class RawImage : DiskImage
{
    private const int SeekData = 3;
    private const int SeekHole = 4;
    private const int ENXIO = 6;

    private readonly long _size;
    private int _seekWorks;

    // size is shorter than the file for a fixed VHD, whose footer follows the data.
    public RawImage(ImageFile file, long size, string format = "raw")
        : base(file)
    {
        _size = size;
        Format = format;
        _seekWorks = OperatingSystem.IsLinux() || OperatingSystem.IsFreeBSD() ? 1 : 0;
    }

    public override string Format { get; }

    public override long VirtualSize => _size;

    public override Extent Map(long offset, ReadContext context)
    {
        if (Volatile.Read(ref _seekWorks) == 1 && File.Handle is { } handle)
        {
            var dangerous = false;
            try
            {
                handle.DangerousAddRef(ref dangerous);
                var fd = (int)handle.DangerousGetHandle();
                // lseek moves the shared file position, which nothing here uses: every read is positional.
                var data = LSeek(fd, offset, SeekData);
                if (data < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == ENXIO)
                        return Extent.Zero(offset, _size - offset);
                    Volatile.Write(ref _seekWorks, 0);
                }
                else if (data > offset)
                {
                    return Extent.Zero(offset, Math.Min(data, _size) - offset);
                }
                else
                {
                    var hole = LSeek(fd, offset, SeekHole);
                    if (hole > offset)
                        return new Extent(offset, Math.Min(hole, _size) - offset, ExtentKind.Data, offset);
                }
            }
            finally
            {
                if (dangerous)
                    handle.DangerousRelease();
            }
        }
        return new Extent(offset, _size - offset, ExtentKind.Data, offset);
    }

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long LSeek(int fd, long offset, int whence);
}

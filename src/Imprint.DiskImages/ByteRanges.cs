namespace Imprint.DiskImages;

/// <summary>
/// An image file that is not on this machine but can be read from any offset: a cloud's download that serves HTTP byte
/// ranges. <see cref="ImageFingerprinter.FingerprintRangesAsync"/> reads it without keeping a copy.
/// </summary>
public interface IByteRanges
{
    /// <summary>The file's size in bytes.</summary>
    long Length { get; }

    /// <summary>
    /// Opens the bytes [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="count"/>) as a stream read
    /// front to back. A source that cannot (unreachable, refused, cut short) throws, or ends the stream early: either
    /// becomes an <see cref="ImageSourceException"/>.
    /// </summary>
    Task<Stream> OpenAsync(long offset, long count, CancellationToken cancellationToken);
}

/// <summary>
/// The bytes of an image could not be fetched (a download broke off, the cloud refused a range). Unlike an invalid
/// image this says nothing of the image itself: trying again later may well succeed.
/// </summary>
public sealed class ImageSourceException : Exception
{
    /// <summary>Creates the exception with its message.</summary>
    public ImageSourceException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its message and the failure behind it.</summary>
    public ImageSourceException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception.</summary>
    public ImageSourceException()
    {
    }
}

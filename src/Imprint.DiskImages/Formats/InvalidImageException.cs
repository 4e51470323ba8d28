namespace Imprint.DiskImages.Formats;

/// <summary>
/// The image is not one the readers accept: corrupt, hostile or using a feature we refuse. Thrown deep inside
/// the readers (where unwinding is the simplest way out) and turned into a <see cref="FingerprintResult"/> error at
/// the public boundary; any other exception escaping a reader is a bug.
/// </summary>
internal sealed class InvalidImageException : Exception
{
    public InvalidImageException(string message)
        : base(message)
    {
    }

    public InvalidImageException()
    {
    }

    public InvalidImageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

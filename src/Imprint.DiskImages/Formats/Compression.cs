using System.IO.Compression;
using ZstdSharp;

namespace Imprint.DiskImages.Formats;

/// <summary>Inflates one compressed cluster or grain into exactly its guest size, and refuses anything else.</summary>
internal static class Compression
{
    /// <summary>
    /// Raw deflate (qcow2 zlib clusters) or zlib-wrapped deflate (VMDK grains) into <paramref name="cluster"/>; at
    /// least <paramref name="minimum"/> bytes must come out (a VMDK's last grain stops at the disk's end), never more
    /// than the cluster holds. Bytes between what came out and the cluster's end are zeroed.
    /// </summary>
    public static void Inflate(ReadOnlySpan<byte> compressed, Span<byte> cluster, bool zlibHeader, string what, int minimum = -1)
    {
        if (minimum < 0)
            minimum = cluster.Length;
        try
        {
            unsafe
            {
                fixed (byte* source = compressed)
                {
                    using var input = new UnmanagedMemoryStream(source, compressed.Length);
                    using Stream inflater = zlibHeader
                        ? new ZLibStream(input, CompressionMode.Decompress)
                        : new DeflateStream(input, CompressionMode.Decompress);
                    var filled = 0;
                    while (filled < cluster.Length)
                    {
                        var read = inflater.Read(cluster[filled..]);
                        if (read == 0)
                        {
                            if (filled < minimum)
                                throw new InvalidImageException($"{what} inflates to {filled} bytes, less than its {minimum}");
                            cluster[filled..].Clear();
                            return;
                        }
                        filled += read;
                    }
                    Span<byte> probe = stackalloc byte[1];
                    if (inflater.Read(probe) != 0)
                        throw new InvalidImageException($"{what} inflates past its {cluster.Length} bytes");
                }
            }
        }
        catch (InvalidDataException e)
        {
            throw new InvalidImageException($"{what} is not valid deflate data ({e.Message.TrimEnd('.')})");
        }
    }

    /// <summary>One zstd frame (qcow2 compression type 1); bytes after the frame are padding and ignored.</summary>
    public static void Unzstd(ReadOnlySpan<byte> compressed, Span<byte> cluster, string what)
    {
        int frameLength;
        unsafe
        {
            fixed (byte* source = compressed)
            {
                var result = ZstdSharp.Unsafe.Methods.ZSTD_findFrameCompressedSize(source, (nuint)compressed.Length);
                if (ZstdSharp.Unsafe.Methods.ZSTD_isError(result))
                    throw new InvalidImageException($"{what} is not a valid zstd frame");
                frameLength = (int)result;
            }
        }
        using var decompressor = new Decompressor();
        int written;
        try
        {
            if (!decompressor.TryUnwrap(compressed[..frameLength], cluster, out written))
                throw new InvalidImageException($"{what} inflates past its {cluster.Length} bytes");
        }
        catch (ZstdException e)
        {
            throw new InvalidImageException(e.Code == ZstdSharp.Unsafe.ZSTD_ErrorCode.ZSTD_error_dstSize_tooSmall
                ? $"{what} inflates past its {cluster.Length} bytes"
                : $"{what} is not valid zstd data");
        }
        if (written != cluster.Length)
            throw new InvalidImageException($"{what} inflates to {written} bytes, less than its {cluster.Length}");
    }
}

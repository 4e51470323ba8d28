using Imprint.Core.Digests;
using Imprint.DiskImages.Formats;
using Imprint.DiskImages.Pipeline;
using Microsoft.Win32.SafeHandles;

namespace Imprint.DiskImages;

/// <summary>What to compute when fingerprinting an image.</summary>
public sealed record FingerprintOptions
{
    /// <summary>md5, sha256, sha512 and disk-sha256: what <c>imprint fingerprint</c> computes by default.</summary>
    public static IReadOnlyList<DigestAlgorithm> DefaultAlgorithms { get; } =
        [DigestAlgorithm.Md5, DigestAlgorithm.Sha256, DigestAlgorithm.Sha512, DigestAlgorithm.DiskSha256];

    /// <summary>The digests to compute.</summary>
    public IReadOnlyList<DigestAlgorithm> Algorithms { get; init; } = DefaultAlgorithms;

    /// <summary>The container format, or null to detect it from the file's magic.</summary>
    public string? Format { get; init; }

    /// <summary>Receives the number of file bytes processed so far.</summary>
    public IProgress<long>? Progress { get; init; }

    /// <summary>
    /// Hash a file on the calling thread alone (streams that cannot seek ignore this). By default an image larger than
    /// 4 MiB is hashed by a reader thread, a thread per file digest and a thread per core for its content, with about
    /// 32 MiB of buffers in flight; a caller that fingerprints many files side by side keeps the cores busy already,
    /// and sets this to spare the threads and the buffers (one 1 MiB buffer instead).
    /// </summary>
    public bool OnCallingThread { get; init; }

    /// <summary>
    /// Images whose file and disk are both at most this many bytes are hashed on the calling thread even without
    /// <see cref="OnCallingThread"/>. Tests set 0 to make every image take the pipeline.
    /// </summary>
    internal long InlineLimit { get; init; } = FingerprintPipeline.DefaultInlineLimit;
}

/// <summary>The digests of one image file.</summary>
/// <param name="Format">The container format: raw, qcow2, vmdk, vhd or vhdx.</param>
/// <param name="VirtualSize">The guest-visible disk size in bytes.</param>
/// <param name="FileSize">The image file's size in bytes.</param>
/// <param name="Digests">The requested digests, in the order requested.</param>
public sealed record ImageFingerprint(string Format, long VirtualSize, long FileSize, IReadOnlyList<Digest> Digests);

/// <summary>A fingerprint, or why the input is not a valid image. Invalid images are expected: they are values, not exceptions.</summary>
public sealed record FingerprintResult(ImageFingerprint? Fingerprint, string? Error)
{
    /// <summary>True when <see cref="Fingerprint"/> is set.</summary>
    public bool Success => Fingerprint is not null;
}

/// <summary>Computes file digests and the content digest of disk images in one pass.</summary>
public static class ImageFingerprinter
{
    /// <summary>The container formats <see cref="FingerprintOptions.Format"/> accepts: raw, qcow2, vmdk, vhd, vhdx.</summary>
    public static IReadOnlyList<string> Formats => ImageOpener.Formats;

    /// <summary>
    /// Fingerprints an image file. An invalid image (corrupt, hostile, with a backing file, encrypted…) or a file that
    /// cannot be read gives a result with <see cref="FingerprintResult.Error"/> set; exceptions are left for bugs
    /// and cancellation.
    /// </summary>
    public static async Task<FingerprintResult> FingerprintFileAsync(string path, FingerprintOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        Validate(options);
        SafeFileHandle handle;
        try
        {
            if (Directory.Exists(path))
                return new FingerprintResult(null, "is a directory, not an image file");
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new FingerprintResult(null, e switch
            {
                FileNotFoundException or DirectoryNotFoundException => "cannot open: no such file",
                UnauthorizedAccessException => "cannot open: permission denied",
                _ => $"cannot open: {e.Message}",
            });
        }
        using (handle)
        {
            using var pipeline = new FingerprintPipeline(options);
            return await pipeline.RunSeekableAsync(handle, RandomAccess.GetLength(handle), cancellationToken);
        }
    }

    /// <summary>
    /// Fingerprints an image read from a stream (an image downloaded from a cloud); the stream need not seek.
    /// raw images are hashed as they stream by (auto-detection treats a stream without a known magic as raw, so a
    /// fixed VHD needs <c>Format = "vhd"</c>); qcow2, vmdk, vhd and vhdx need random access, so they are spooled to a
    /// temporary file (deleted on close) while the file digests are computed, then read from there: memory stays
    /// bounded, the temporary directory needs room for the image.
    /// </summary>
    public static async Task<FingerprintResult> FingerprintStreamAsync(Stream stream, FingerprintOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Validate(options);
        using var pipeline = new FingerprintPipeline(options);
        // A file at its start needs no spool: read it in place, as FingerprintFileAsync does.
        if (stream is FileStream { CanSeek: true, Position: 0 } file)
            return await pipeline.RunSeekableAsync(file.SafeFileHandle, file.Length, cancellationToken);
        return await pipeline.RunStreamAsync(stream, cancellationToken);
    }

    /// <summary>
    /// Fingerprints an image that is read through byte ranges of a download (<see cref="IByteRanges"/>: a cloud that
    /// serves HTTP Range requests), without a temporary file: raw content streams through once; qcow2, vmdk, vhd and vhdx
    /// are read front to back in host order where their layout allows (as qemu-img writes them: one range for the data),
    /// their tables by small ranges (file digests of such an image cost a second pass: ask for disk-sha256 alone to read it
    /// once). An invalid image gives a result with <see cref="FingerprintResult.Error"/> set; when
    /// the bytes cannot be fetched, an <see cref="ImageSourceException"/> is thrown instead: that is not the image's fault.
    /// </summary>
    public static async Task<FingerprintResult> FingerprintRangesAsync(IByteRanges source, FingerprintOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        Validate(options);
        using var pipeline = new FingerprintPipeline(options);
        return await pipeline.RunRangedAsync(source, cancellationToken);
    }

    private static void Validate(FingerprintOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Algorithms.Count == 0)
            throw new ArgumentException("at least one digest algorithm is required", nameof(options));
        if (options.Format is { } format && !ImageOpener.Formats.Contains(format))
            throw new ArgumentException($"unknown image format '{format}': use {string.Join(", ", ImageOpener.Formats)}", nameof(options));
    }
}

using System.Buffers;
using System.Security.Cryptography;
using Imprint.Core.Digests;

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
    private const int BlockSize = 1 << 20;

    /// <summary>Fingerprints an image file.</summary>
    public static async Task<FingerprintResult> FingerprintFileAsync(string path, FingerprintOptions options, CancellationToken cancellationToken)
    {
        // Placeholder pipeline (raw only, one core) until the disk-image readers land.
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return await FingerprintStreamAsync(file, options, cancellationToken);
    }

    /// <summary>Fingerprints an image read from a stream (an image downloaded from a cloud); the stream need not seek.</summary>
    public static async Task<FingerprintResult> FingerprintStreamAsync(Stream stream, FingerprintOptions options, CancellationToken cancellationToken)
    {
        var fileHashes = options.Algorithms.Where(a => a.IsFileDigest())
            .Select(a => (Algorithm: a, Hash: IncrementalHash.CreateHash(ToHashName(a)))).ToList();
        var wantsContent = options.Algorithms.Contains(DigestAlgorithm.DiskSha256);
        using var leaves = new MemoryStream();
        var buffer = ArrayPool<byte>.Shared.Rent(BlockSize);
        long total = 0;
        try
        {
            while (true)
            {
                var filled = 0;
                while (filled < BlockSize)
                {
                    var read = await stream.ReadAsync(buffer.AsMemory(filled, BlockSize - filled), cancellationToken);
                    if (read == 0)
                        break;
                    filled += read;
                }
                if (filled == 0)
                    break;
                var block = buffer.AsSpan(0, filled);
                foreach (var (_, hash) in fileHashes)
                    hash.AppendData(block);
                if (wantsContent)
                    leaves.Write(SHA256.HashData(block));
                total += filled;
                options.Progress?.Report(total);
                if (filled < BlockSize)
                    break;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        var digests = new List<Digest>();
        foreach (var algorithm in options.Algorithms)
        {
            if (algorithm == DigestAlgorithm.DiskSha256)
            {
                digests.Add(Digest.FromBytes(algorithm, ContentDigest(total, leaves.ToArray())));
                continue;
            }
            var hash = fileHashes.First(h => h.Algorithm == algorithm).Hash;
            digests.Add(Digest.FromBytes(algorithm, hash.GetHashAndReset()));
        }
        foreach (var (_, hash) in fileHashes)
            hash.Dispose();
        return new FingerprintResult(new ImageFingerprint("raw", total, total, digests), null);
    }

    private static byte[] ContentDigest(long virtualSize, byte[] leaves)
    {
        using var root = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        root.AppendData("imprint-disk-v1\0"u8);
        Span<byte> size = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(size, (ulong)virtualSize);
        root.AppendData(size);
        root.AppendData(leaves);
        return root.GetHashAndReset();
    }

    private static HashAlgorithmName ToHashName(DigestAlgorithm algorithm) => algorithm switch
    {
        DigestAlgorithm.Md5 => HashAlgorithmName.MD5,
        DigestAlgorithm.Sha1 => HashAlgorithmName.SHA1,
        DigestAlgorithm.Sha256 => HashAlgorithmName.SHA256,
        DigestAlgorithm.Sha512 => HashAlgorithmName.SHA512,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, null),
    };
}

namespace Imprint.Core.Digests;

/// <summary>The digest algorithms Imprint knows. File digests hash the image file; <see cref="DiskSha256"/> hashes its content.</summary>
public enum DigestAlgorithm : byte
{
    /// <summary>MD5 of the file (Glance <c>checksum</c>).</summary>
    Md5 = 1,
    /// <summary>SHA-1 of the file.</summary>
    Sha1 = 2,
    /// <summary>SHA-256 of the file.</summary>
    Sha256 = 3,
    /// <summary>SHA-512 of the file (Glance <c>os_hash_value</c> by default).</summary>
    Sha512 = 4,
    /// <summary>The content fingerprint of DESIGN.md, independent of the container format.</summary>
    DiskSha256 = 5,
}

/// <summary>Names and sizes of <see cref="DigestAlgorithm"/> values.</summary>
public static class DigestAlgorithms
{
    /// <summary>Every algorithm, in the order digests are listed.</summary>
    public static IReadOnlyList<DigestAlgorithm> All { get; } =
        [DigestAlgorithm.Md5, DigestAlgorithm.Sha1, DigestAlgorithm.Sha256, DigestAlgorithm.Sha512, DigestAlgorithm.DiskSha256];

    /// <summary>The algorithm's name as written in a digest: <c>md5</c>, <c>sha1</c>, <c>sha256</c>, <c>sha512</c>, <c>disk-sha256</c>.</summary>
    public static string Name(this DigestAlgorithm algorithm) => algorithm switch
    {
        DigestAlgorithm.Md5 => "md5",
        DigestAlgorithm.Sha1 => "sha1",
        DigestAlgorithm.Sha256 => "sha256",
        DigestAlgorithm.Sha512 => "sha512",
        DigestAlgorithm.DiskSha256 => "disk-sha256",
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, null),
    };

    /// <summary>Length of the digest in bytes.</summary>
    public static int ByteLength(this DigestAlgorithm algorithm) => algorithm switch
    {
        DigestAlgorithm.Md5 => 16,
        DigestAlgorithm.Sha1 => 20,
        DigestAlgorithm.Sha256 or DigestAlgorithm.DiskSha256 => 32,
        DigestAlgorithm.Sha512 => 64,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, null),
    };

    /// <summary>True for digests of the image file's bytes; false for the content digest.</summary>
    public static bool IsFileDigest(this DigestAlgorithm algorithm) => algorithm != DigestAlgorithm.DiskSha256;

    /// <summary>Parses an algorithm name (case-insensitive).</summary>
    public static bool TryParse(ReadOnlySpan<char> name, out DigestAlgorithm algorithm)
    {
        foreach (var candidate in All)
        {
            if (name.Equals(candidate.Name(), StringComparison.OrdinalIgnoreCase))
            {
                algorithm = candidate;
                return true;
            }
        }
        algorithm = default;
        return false;
    }
}

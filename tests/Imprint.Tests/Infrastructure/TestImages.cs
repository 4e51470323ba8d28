using System.Security.Cryptography;

namespace Imprint.Tests.Infrastructure;

/// <summary>Small raw disk images written for a test, and their digests computed independently of Imprint's pipeline.</summary>
public static class TestImages
{
    public static string NewFolder() => Directory.CreateTempSubdirectory("imprint-cloud-").FullName;

    /// <summary>Writes <paramref name="size"/> seeded random bytes.</summary>
    public static string Write(string folder, string name, int seed, int size = 256 * 1024)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        var path = Path.Combine(folder, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>md5, sha256 and sha512 of the file, as a fingerprint.</summary>
    public static string[] FileDigests(string path)
    {
        var bytes = File.ReadAllBytes(path);
        return
        [
            "md5:" + Convert.ToHexStringLower(MD5.HashData(bytes)),
            "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)),
            "sha512:" + Convert.ToHexStringLower(SHA512.HashData(bytes)),
        ];
    }
}

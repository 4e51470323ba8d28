using System.Security.Cryptography;

namespace Imprint.Storage;

/// <summary>Opaque ids: a type prefix, then time then randomness, so that ordering by id is ordering by creation.</summary>
public static class Ids
{
    /// <summary>A new id such as <c>mci_019a3f2c4b1e7f3a9c2d</c>.</summary>
    public static string New(string prefix, TimeProvider time)
    {
        Span<byte> random = stackalloc byte[5];
        RandomNumberGenerator.Fill(random);
        return $"{prefix}_{time.GetUtcNow().ToUnixTimeMilliseconds():x12}{Convert.ToHexStringLower(random)}";
    }
}

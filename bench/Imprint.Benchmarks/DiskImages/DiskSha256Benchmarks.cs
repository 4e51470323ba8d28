using System.Buffers.Binary;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Imprint.Core.Digests;
using Imprint.DiskImages;

namespace Imprint.Benchmarks.DiskImages;

/// <summary>
/// disk-sha256 of an in-memory raw image: the one-core loop of the reference script (baseline) against the
/// pipeline (all cores, constant leaves for zero blocks). Half the blocks are zeros, as in a typical image.
/// </summary>
[MemoryDiagnoser]
public class DiskSha256Benchmarks
{
    private byte[] _image = [];

    [Params(64, 256)]
    public int SizeMiB { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _image = new byte[SizeMiB << 20];
        var random = new Random(42);
        for (var block = 0; block < SizeMiB; block += 2)
            random.NextBytes(_image.AsSpan(block << 20, 1 << 20));
    }

    [Benchmark(Baseline = true)]
    public byte[] Reference()
    {
        using var root = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        root.AppendData("imprint-disk-v1\0"u8);
        Span<byte> size = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(size, (ulong)_image.Length);
        root.AppendData(size);
        for (var offset = 0; offset < _image.Length; offset += 1 << 20)
            root.AppendData(SHA256.HashData(_image.AsSpan(offset, Math.Min(1 << 20, _image.Length - offset))));
        return root.GetHashAndReset();
    }

    [Benchmark]
    public async Task<string?> Pipeline()
    {
        using var stream = new MemoryStream(_image, writable: false);
        var result = await ImageFingerprinter.FingerprintStreamAsync(stream, new FingerprintOptions { Algorithms = [DigestAlgorithm.DiskSha256] }, CancellationToken.None);
        return result.Fingerprint?.Digests[0].Hex;
    }
}

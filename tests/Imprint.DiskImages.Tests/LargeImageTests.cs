using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using Imprint.Core.Digests;
using Imprint.DiskImages.Tests.Support;

namespace Imprint.DiskImages.Tests;

/// <summary>
/// Vast sparse disks: CPU-heavy, so they run alone (the Heavy collection) and do not starve the time-bounded tests.
/// </summary>
[Collection(HeavyTests.Name)]
public sealed class LargeImageTests(QemuImages images)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task FingerprintFile_LargeSparseQcow2_HashesOnlyAllocatedData(bool onCallingThread)
    {
        // 1 TiB of virtual disk with 2 MiB of data: the zero leaves are constants, so this is quick.
        var path = Path.Combine(images.Directory, $"sparse-{Guid.NewGuid():N}.qcow2");
        Tool.Run("qemu-img", "create", "-q", "-f", "qcow2", path, "1T");
        Tool.Run("qemu-io", "-f", "qcow2", "-c", "write -P 0x42 700G 2M", path);
        var stopwatch = Stopwatch.StartNew();

        var result = await ImageFingerprinter.FingerprintFileAsync(path, new FingerprintOptions { Algorithms = [DigestAlgorithm.DiskSha256], OnCallingThread = onCallingThread },
            TestContext.Current.CancellationToken);

        stopwatch.Stop();
        result.Fingerprint.ShouldNotBeNull().Digests.Single().ToString().ShouldBe(ExpectedSparse(1L << 40, 700L << 30, 2 << 20, 0x42));
        stopwatch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task FingerprintFile_64TiBSparseQcow2_FinishesQuickly()
    {
        // The largest disk accepted: zero runs are claimed in bulk, so time goes to folding 64 Mi constant leaves.
        var path = Path.Combine(images.Directory, $"huge-{Guid.NewGuid():N}.qcow2");
        Tool.Run("qemu-img", "create", "-q", "-f", "qcow2", path, "64T");
        Tool.Run("qemu-io", "-f", "qcow2", "-c", "write -P 0x42 40T 1M", path);
        var stopwatch = Stopwatch.StartNew();

        var result = await ImageFingerprinter.FingerprintFileAsync(path, new FingerprintOptions { Algorithms = [DigestAlgorithm.DiskSha256] }, TestContext.Current.CancellationToken);

        stopwatch.Stop();
        result.Fingerprint.ShouldNotBeNull().Digests.Single().ToString().ShouldBe(ExpectedSparse(64L << 40, 40L << 40, 1 << 20, 0x42));
        stopwatch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(20));
    }

    /// <summary>The digest of a disk that is zeros except for one filled run, computed straight from DESIGN.md.</summary>
    private static string ExpectedSparse(long size, long dataOffset, int dataLength, byte fill)
    {
        using var root = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        root.AppendData("imprint-disk-v1\0"u8);
        Span<byte> sizeBytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(sizeBytes, (ulong)size);
        root.AppendData(sizeBytes);
        var zeroLeaves = new byte[32 * 4096];
        var zeroLeaf = SHA256.HashData(new byte[1 << 20]);
        for (var i = 0; i < 4096; i++)
            zeroLeaf.CopyTo(zeroLeaves, i * 32);
        var filled = new byte[1 << 20];
        Array.Fill(filled, fill);
        var dataLeaf = SHA256.HashData(filled);
        void Zeros(long count)
        {
            for (; count > 0; count -= 4096)
                root.AppendData(zeroLeaves.AsSpan(0, (int)Math.Min(count, 4096) * 32));
        }
        Zeros(dataOffset >> 20);
        for (var i = 0; i < dataLength >> 20; i++)
            root.AppendData(dataLeaf);
        Zeros((size - dataOffset - dataLength) >> 20);
        return "disk-sha256:" + Convert.ToHexStringLower(root.GetHashAndReset());
    }
}

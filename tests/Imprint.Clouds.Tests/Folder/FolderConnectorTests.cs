using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using Imprint.Clouds.Folder;

namespace Imprint.Clouds.Tests.Folder;

public sealed class FolderConnectorTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"imprint-folder-tests-{Guid.NewGuid():N}");

    public FolderConnectorTests() => Directory.CreateDirectory(_root);

    [Fact]
    public async Task SyncAsync_ManyFilesSideBySide_SameInventoryAsOneAtATime()
    {
        var random = new Random(20261203);
        for (var i = 0; i < 60; i++)
            Write($"dir{i % 7}/img-{i:00}.raw", Bytes(random, i switch { 0 => 0, 1 => 1, 2 => (1 << 20) + 3, _ => random.Next(1, 300_000) }));
        Write("large.raw", Bytes(random, (5 << 20) + 17)); // past the side-by-side limit: the pipeline, on every core
        Write("broken.qcow2", [0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]); // a qcow2 magic and nothing after it
        Write(".hidden.raw", Bytes(random, 10));

        var sideBySide = await new FolderConnector(workers: 4).SyncAsync(Cloud(), [], TestContext.Current.CancellationToken);
        var oneAtATime = await new FolderConnector(workers: 1).SyncAsync(Cloud(), [], TestContext.Current.CancellationToken);

        var images = sideBySide.Images.ShouldNotBeNull();
        images.Count.ShouldBe(62);
        images.Select(i => i.Uid).ShouldBe(images.Select(i => i.Uid).Order(StringComparer.Ordinal));
        images.Select(Describe).ShouldBe(oneAtATime.Images.ShouldNotBeNull().Select(Describe));
        var broken = images.Single(i => i.Uid == "broken.qcow2");
        broken.Status.ShouldBe("invalid");
        broken.Properties["error"].ShouldNotBeNullOrEmpty();
        foreach (var image in images.Where(i => i.Status == "active"))
            image.Digests.Select(d => d.ToString()).ShouldBe(ExpectedDigests(Path.Combine(_root, image.Uid)), image.Uid);
    }

    [Fact]
    public async Task SyncAsync_CancelledWhileHashing_StopsWithinAFile()
    {
        // 1,000 sparse files of 4 MiB: seconds of hashing, ~13 ms a file.
        for (var i = 0; i < 1000; i++)
        {
            using var file = File.Create(Path.Combine(_root, $"img-{i:0000}.raw"));
            file.SetLength(4 << 20);
        }
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var stopwatch = Stopwatch.StartNew();

        await Should.ThrowAsync<OperationCanceledException>(() => new FolderConnector(workers: 2).SyncAsync(Cloud(), [], cancel.Token));

        // Hashing them all takes several seconds on two cores; a cancelled sync only finishes the files in hand.
        stopwatch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task SyncAsync_UnchangedFile_KeepsItsDigestsWithoutReadingIt()
    {
        var path = Write("a.raw", Bytes(new Random(1), 70_000));
        Write("b.raw", Bytes(new Random(2), 70_000));
        var first = (await new FolderConnector().SyncAsync(Cloud(), [], TestContext.Current.CancellationToken)).Images.ShouldNotBeNull();
        // New bytes under the same size and time: only a read could notice, and an unchanged file is not read.
        var stamp = File.GetLastWriteTimeUtc(path);
        File.WriteAllBytes(path, Bytes(new Random(3), 70_000));
        File.SetLastWriteTimeUtc(path, stamp);
        File.WriteAllBytes(Path.Combine(_root, "b.raw"), Bytes(new Random(4), 70_001));

        var second = (await new FolderConnector().SyncAsync(Cloud(), first, TestContext.Current.CancellationToken)).Images.ShouldNotBeNull();

        second[0].ShouldBeSameAs(first[0]);
        second[1].ShouldNotBeSameAs(first[1]);
        second[1].Digests.Select(d => d.ToString()).ShouldBe(ExpectedDigests(Path.Combine(_root, "b.raw")));
    }

    private CloudEndpoint Cloud() => new("cld_test", "test", _root, null, null, null);

    private string Write(string relative, byte[] bytes)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Bytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string Describe(InventoryImage image) =>
        $"{image.Uid} {image.Name} {image.Status} {image.DiskFormat} {image.Size} {image.VirtualSize} {string.Join(",", image.Digests)} "
        + string.Join(",", image.Properties.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));

    /// <summary>md5, sha256, sha512 and disk-sha256 of a raw file, computed here straight from their definitions (DESIGN.md).</summary>
    private static string[] ExpectedDigests(string path)
    {
        var bytes = File.ReadAllBytes(path);
        using var root = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        root.AppendData("imprint-disk-v1\0"u8);
        var size = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(size, (ulong)bytes.Length);
        root.AppendData(size);
        for (var offset = 0; offset < bytes.Length; offset += 1 << 20)
            root.AppendData(SHA256.HashData(bytes.AsSpan(offset, Math.Min(1 << 20, bytes.Length - offset))));
        return
        [
            $"md5:{Convert.ToHexStringLower(MD5.HashData(bytes))}",
            $"sha256:{Convert.ToHexStringLower(SHA256.HashData(bytes))}",
            $"sha512:{Convert.ToHexStringLower(SHA512.HashData(bytes))}",
            $"disk-sha256:{Convert.ToHexStringLower(root.GetHashAndReset())}",
        ];
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp dir is not worth failing a run over.
        }
    }
}

using System.Security.Cryptography;
using System.Text.Json;
using Imprint.Clouds.OpenStack;
using Imprint.Clouds.Tests.Infrastructure;
using Imprint.Core.Digests;
using Imprint.DiskImages;

namespace Imprint.Clouds.Tests.OpenStack;

/// <summary>The connector against the real noauth Glance that .ci/setup.d/20-glance.sh started.</summary>
[Collection(GlanceCollection.Name)]
public sealed class GlanceConnectorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const int MiB = 1024 * 1024;

    private static CloudEndpoint Cloud(string? state = null, WantedContent? wanted = null) =>
        new("cld-test-" + Guid.NewGuid().ToString("N")[..6], "glance", Peers.GlanceUrl, null, null, state, wanted);

    [Fact]
    public async Task Sync_SmallPages_ListsEveryImageAcrossPages()
    {
        using var glance = new GlanceAdmin(Peers.GlanceUrl);
        var tag = "paging-" + Guid.NewGuid().ToString("N")[..8];
        var ids = new List<string>();
        for (var i = 0; i < 7; i++)
            ids.Add(await glance.CreateAsync($"{tag}-{i}", Peers.RandomBytes(1000 + i)));
        var (connector, _, _, services) = Peers.Connector(o => o.PageSize = 2);
        await using var _s = services;
        var cloud = Cloud();

        var result = await connector.SyncAsync(cloud, [], Ct);

        result.Success.ShouldBeTrue(result.Error);
        var mine = result.Images!.Where(i => i.Name.StartsWith(tag, StringComparison.Ordinal)).ToList();
        mine.Select(i => i.Uid).Order().ShouldBe(ids.Order());
        result.Images!.Select(i => i.Uid).Distinct().Count().ShouldBe(result.Images!.Count);
        // 2 images a page: at least ceil(total / 2) requests, i.e. several pages were followed.
        connector.LastRequestCounts[cloud.Id].ShouldBeGreaterThanOrEqualTo((result.Images!.Count + 1) / 2);
    }

    [Fact]
    public async Task Sync_MapsGlanceFieldsAndImprintProperties()
    {
        using var glance = new GlanceAdmin(Peers.GlanceUrl);
        var data = Peers.RandomBytes(3 * 1024 * 1024 + 17);
        var disk = await DiskDigestAsync(data);
        var id = await glance.CreateAsync("mapped-" + Guid.NewGuid().ToString("N")[..6], data, "raw",
            new Dictionary<string, string> { ["os_distro"] = "cirros", [GlanceImageMapper.DiskSha256Property] = disk.Hex }, "public");
        var (connector, _, _, services) = Peers.Connector();
        await using var _s = services;

        var result = await connector.SyncAsync(Cloud(), [], Ct);

        result.Success.ShouldBeTrue(result.Error);
        var image = result.Images!.Single(i => i.Uid == id);
        image.Status.ShouldBe("active");
        image.Visibility.ShouldBe("public");
        image.DiskFormat.ShouldBe("raw");
        image.Size.ShouldBe(data.Length);
        image.Digests.ShouldContain(Digest.FromBytes(DigestAlgorithm.Md5, MD5.HashData(data)));
        image.Digests.ShouldContain(Digest.FromBytes(DigestAlgorithm.Sha512, SHA512.HashData(data)));
        image.Digests.ShouldContain(disk);
        image.Properties["os_distro"].ShouldBe("cirros");
        image.Properties["container_format"].ShouldBe("bare");
        image.Href.ShouldBe($"{Peers.GlanceUrl}/v2/images/{id}");
        image.CreatedAt.ShouldNotBeNull();
        image.UpdatedAt.ShouldNotBeNull();
    }

    [Fact]
    public async Task Sync_Incremental_GivesTheInventoryOfAFullSync()
    {
        using var glance = new GlanceAdmin(Peers.GlanceUrl);
        var changed = await glance.CreateAsync("inc-changed-" + Guid.NewGuid().ToString("N")[..6], Peers.RandomBytes(4096));
        var deleted = await glance.CreateAsync("inc-deleted-" + Guid.NewGuid().ToString("N")[..6], Peers.RandomBytes(4096));
        var (connector, _, _, services) = Peers.Connector(o => o.FullSyncEvery = 3);
        await using var _s = services;
        var cloud = Cloud();
        var first = await connector.SyncAsync(cloud, [], Ct);
        first.Success.ShouldBeTrue(first.Error);

        // Nothing changed: one request, the same inventory.
        var unchanged = await connector.SyncAsync(cloud with { SyncState = first.SyncState }, first.Images!, Ct);
        unchanged.Success.ShouldBeTrue(unchanged.Error);
        connector.LastRequestCounts[cloud.Id].ShouldBe(1);
        Json(unchanged.Images!).ShouldBe(Json(first.Images!));

        var added = await glance.CreateAsync("inc-added-" + Guid.NewGuid().ToString("N")[..6], Peers.RandomBytes(8192));
        await glance.SetPropertyAsync(changed, "os_version", "2");
        var incremental = await connector.SyncAsync(cloud with { SyncState = unchanged.SyncState }, unchanged.Images!, Ct);
        var full = await connector.SyncAsync(cloud, [], Ct);
        incremental.Success.ShouldBeTrue(incremental.Error);
        Json(incremental.Images!).ShouldBe(Json(full.Images!));
        incremental.Images!.ShouldContain(i => i.Uid == added);
        incremental.Images!.Single(i => i.Uid == changed).Properties["os_version"].ShouldBe("2");

        // A deletion is invisible to "changed since": the full reconciliation (every 3rd sync here) finds it.
        await glance.DeleteAsync(deleted);
        var third = await connector.SyncAsync(cloud with { SyncState = incremental.SyncState }, incremental.Images!, Ct);
        third.Success.ShouldBeTrue(third.Error);
        third.Images!.ShouldNotContain(i => i.Uid == deleted);
        Json(third.Images!).ShouldBe(Json((await connector.SyncAsync(cloud, [], Ct)).Images!));
    }

    [Fact]
    public async Task Sync_WantedContent_FingerprintsOnceAndRespectsTheByteCap()
    {
        // A Glance of its own: what the byte cap defers depends on every image in the cloud.
        var (url, pid) = await Peers.StartOwnGlanceAsync(Ct);
        try
        {
            await ContentScenarioAsync(url);
        }
        finally
        {
            await Peers.StopAsync(pid);
        }
    }

    private static async Task ContentScenarioAsync(string url)
    {
        using var glance = new GlanceAdmin(url);
        var small = Peers.RandomBytes(1024 * 1024 + 5);
        var large = Peers.RandomBytes(2 * 1024 * 1024 + 7);
        var smallId = await glance.CreateAsync("content-small-" + Guid.NewGuid().ToString("N")[..6], small);
        var largeId = await glance.CreateAsync("content-large-" + Guid.NewGuid().ToString("N")[..6], large);
        // A qcow2 header and nothing sensible after it: downloaded once, found unreadable, never downloaded again.
        var garbage = new byte[4096];
        new byte[] { (byte)'Q', (byte)'F', (byte)'I', 0xfb, 0, 0, 0, 3 }.CopyTo(garbage, 0);
        var garbageId = await glance.CreateAsync("content-garbage-" + Guid.NewGuid().ToString("N")[..6], garbage, "qcow2");
        var wanted = new WantedContent([(await DiskDigestAsync(small), null)]);
        // The cap leaves room for the garbage and the small image only (smallest first).
        var (connector, _, _, services) = Peers.Connector(o => o.ContentByteCap = 2 * 1024 * 1024);
        await using var _s = services;
        var cloud = Cloud(wanted: wanted) with { Endpoint = url };

        var first = await connector.SyncAsync(cloud, [], Ct);

        first.Success.ShouldBeTrue(first.Error);
        var smallImage = first.Images!.Single(i => i.Uid == smallId);
        smallImage.Digests.ShouldContain(await DiskDigestAsync(small));
        smallImage.Properties[GlanceConnector.ContentProperty].ShouldBe("computed");
        var largeImage = first.Images!.Single(i => i.Uid == largeId);
        largeImage.Digests.ShouldNotContain(d => d.Algorithm == DigestAlgorithm.DiskSha256);
        largeImage.Properties[GlanceConnector.ContentProperty].ShouldStartWith("deferred");
        first.Images!.Single(i => i.Uid == garbageId).Properties[GlanceConnector.ContentProperty].ShouldStartWith("error: ");
        first.Content.ShouldNotBeNull();
        (first.Content.Fingerprinted, first.Content.Bytes).ShouldBe((1, garbage.Length + small.Length));
        first.Content.Deferred.ShouldBe([largeId]);
        first.Content.Unreadable.ShouldBe([garbageId]);

        // The next rematch does what was deferred, and does not download the small image again.
        var second = await connector.SyncAsync(cloud with { SyncState = first.SyncState }, first.Images!, Ct);
        second.Success.ShouldBeTrue(second.Error);
        connector.LastRequestCounts[cloud.Id].ShouldBe(2);
        second.Images!.Single(i => i.Uid == largeId).Digests.ShouldContain(await DiskDigestAsync(large));
        second.Images!.Single(i => i.Uid == smallId).Digests.ShouldContain(await DiskDigestAsync(small));
        (second.Content!.Fingerprinted, second.Content.Bytes, second.Content.Deferred.Count).ShouldBe((1, large.Length, 0));

        // A third: everything known, so one listing request and no download at all.
        var third = await connector.SyncAsync(cloud with { SyncState = second.SyncState }, second.Images!, Ct);
        connector.LastRequestCounts[cloud.Id].ShouldBe(1);
        Json(third.Images!).ShouldBe(Json(second.Images!));
        (third.Content!.Fingerprinted, third.Content.Bytes, third.Content.Deferred.Count).ShouldBe((0, 0L, 0));

        // The same bytes under another image id: known by their file digest, not downloaded.
        var copy = await glance.CreateAsync("content-copy-" + Guid.NewGuid().ToString("N")[..6], small);
        var fourth = await connector.SyncAsync(cloud with { SyncState = third.SyncState }, third.Images!, Ct);
        connector.LastRequestCounts[cloud.Id].ShouldBe(1);
        fourth.Images!.Single(i => i.Uid == copy).Digests.ShouldContain(await DiskDigestAsync(small));
    }

    [Fact]
    public async Task Sync_WantedContentOfKnownVirtualSize_DownloadsOnlyImagesWhoseVirtualSizeCouldMatch()
    {
        // A Glance of its own: the request count says how many images were downloaded.
        var (url, pid) = await Peers.StartOwnGlanceAsync(Ct);
        var work = Directory.CreateTempSubdirectory("imprint-vsize-").FullName;
        try
        {
            await VirtualSizeScenarioAsync(url, work);
        }
        finally
        {
            await Peers.StopAsync(pid);
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task VirtualSizeScenarioAsync(string url, string work)
    {
        using var glance = new GlanceAdmin(url);
        // The build's content, as raw and as qcow2; other content of another length, as raw and as qcow2; and raw bytes in
        // an ovf container, which Glance does not inspect.
        var build = Peers.RandomBytes(MiB + 4096);
        var other = Peers.RandomBytes(2 * MiB + 4096);
        var unknown = Peers.RandomBytes(MiB + 8192);
        var buildRaw = await glance.CreateAsync("vsize-build-raw", build, "raw");
        var buildQcow2 = await glance.CreateAsync("vsize-build-qcow2", await Peers.Qcow2Async(work, build), "qcow2");
        var otherRaw = await glance.CreateAsync("vsize-other-raw", other, "raw");
        var otherQcow2 = await glance.CreateAsync("vsize-other-qcow2", await Peers.Qcow2Async(work, other), "qcow2");
        var unknownRaw = await glance.CreateAsync("vsize-unknown", unknown, "raw", new Dictionary<string, string> { ["container_format"] = "ovf" });
        var buildDigest = await DiskDigestAsync(build);
        var (connector, _, _, services) = Peers.Connector();
        await using var _s = services;
        // The matcher made from the build: its content digest and virtual size, as `imprint fingerprint --json` prints them.
        var cloud = Cloud(wanted: new WantedContent([(buildDigest, build.Length)])) with { Endpoint = url };

        var first = await connector.SyncAsync(cloud, [], Ct);

        first.Success.ShouldBeTrue(first.Error);
        var images = first.Images!.ToDictionary(i => i.Uid, StringComparer.Ordinal);
        // What Glance reports as virtual_size: the content length of a raw or qcow2 upload; nothing for an ovf container.
        images[buildRaw].VirtualSize.ShouldBe(build.Length);
        images[buildQcow2].VirtualSize.ShouldBe(build.Length);
        images[otherRaw].VirtualSize.ShouldBe(other.Length);
        images[otherQcow2].VirtualSize.ShouldBe(other.Length);
        images[unknownRaw].VirtualSize.ShouldBeNull();
        // The two of the wanted size and the one of unknown size are downloaded: one listing request and three downloads.
        images[buildRaw].Digests.ShouldContain(buildDigest);
        images[buildQcow2].Digests.ShouldContain(buildDigest);
        images[unknownRaw].Digests.ShouldContain(await DiskDigestAsync(unknown));
        connector.LastRequestCounts[cloud.Id].ShouldBe(4);
        // Another virtual size cannot have the wanted content: neither downloaded nor deferred.
        foreach (var uid in new[] { otherRaw, otherQcow2 })
        {
            images[uid].Digests.ShouldNotContain(d => d.Algorithm == DigestAlgorithm.DiskSha256);
            images[uid].Properties.ShouldNotContainKey(GlanceConnector.ContentProperty);
        }

        // A wanted content digest of unknown virtual size could be any image's: the next sync downloads the other two.
        var anySize = new WantedContent([(buildDigest, build.Length), (Digest.FromBytes(DigestAlgorithm.DiskSha256, Peers.RandomBytes(32)), null)]);
        var second = await connector.SyncAsync(cloud with { SyncState = first.SyncState, WantedContent = anySize }, first.Images!, Ct);

        second.Success.ShouldBeTrue(second.Error);
        connector.LastRequestCounts[cloud.Id].ShouldBe(3);
        var otherDigest = await DiskDigestAsync(other);
        second.Images!.Single(i => i.Uid == otherRaw).Digests.ShouldContain(otherDigest);
        second.Images!.Single(i => i.Uid == otherQcow2).Digests.ShouldContain(otherDigest);
    }

    [Fact]
    public async Task Sync_WantedContentOfSparseQcow2_ReadsItThroughByteRanges()
    {
        // A Glance of its own: the request count says how the image was read.
        var (url, pid) = await Peers.StartOwnGlanceAsync(Ct);
        var work = Directory.CreateTempSubdirectory("imprint-ranges-").FullName;
        try
        {
            var (raw, qcow2) = await Peers.SparseQcow2Async(work);
            var expected = (await ImageFingerprinter.FingerprintFileAsync(raw, new FingerprintOptions { Algorithms = [DigestAlgorithm.DiskSha256] }, Ct)).Fingerprint!;
            using var glance = new GlanceAdmin(url);
            var id = await glance.CreateAsync("ranges-qcow2", await File.ReadAllBytesAsync(qcow2, Ct), "qcow2");
            var (connector, _, _, services) = Peers.Connector();
            await using var _s = services;
            var cloud = Cloud(wanted: new WantedContent([(expected.Digests[0], expected.VirtualSize)])) with { Endpoint = url };

            var result = await connector.SyncAsync(cloud, [], Ct);

            result.Success.ShouldBeTrue(result.Error);
            var image = result.Images!.Single(i => i.Uid == id);
            image.Digests.ShouldContain(expected.Digests[0]);
            image.Properties[GlanceConnector.ContentProperty].ShouldBe("computed");
            // The listing, the download from the start, and the L2 table 700 MiB in by a range of its own (Glance answers 206).
            connector.LastRequestCounts[cloud.Id].ShouldBeInRange(3, 8);
            (result.Content!.Fingerprinted, result.Content.Bytes).ShouldBe((1, new FileInfo(qcow2).Length));
        }
        finally
        {
            await Peers.StopAsync(pid);
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task Sync_NoWantedContent_DownloadsNothing()
    {
        using var glance = new GlanceAdmin(Peers.GlanceUrl);
        var id = await glance.CreateAsync("nowant-" + Guid.NewGuid().ToString("N")[..6], Peers.RandomBytes(65536));
        var (connector, _, _, services) = Peers.Connector();
        await using var _s = services;
        var cloud = Cloud();

        var result = await connector.SyncAsync(cloud, [], Ct);

        result.Images!.Single(i => i.Uid == id).Digests.ShouldNotContain(d => d.Algorithm == DigestAlgorithm.DiskSha256);
        connector.LastRequestCounts[cloud.Id].ShouldBeLessThan(3);
    }

    internal static async Task<Digest> DiskDigestAsync(byte[] raw)
    {
        using var stream = new MemoryStream(raw);
        var result = await ImageFingerprinter.FingerprintStreamAsync(stream, new FingerprintOptions { Algorithms = [DigestAlgorithm.DiskSha256] }, Ct);
        return result.Fingerprint!.Digests[0];
    }

    private static string Json(IReadOnlyList<InventoryImage> images) =>
        JsonSerializer.Serialize(images.OrderBy(i => i.Uid, StringComparer.Ordinal).Select(i => new
        {
            i.Uid, i.Name, i.Status, i.Visibility, i.DiskFormat, i.Size, i.VirtualSize, Digests = i.Digests.Select(d => d.ToString()).ToList(),
            Properties = i.Properties.OrderBy(p => p.Key, StringComparer.Ordinal).ToList(), i.CreatedAt, i.UpdatedAt, i.Href, i.ConsoleUrl,
        }));
}

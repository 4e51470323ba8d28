using Imprint.Tests.Infrastructure;

namespace Imprint.Tests.Api;

/// <summary>Revisions, clone, paging and the ServerTemplate commit.</summary>
public sealed class CatalogTests(ImprintServer server) : IClassFixture<ImprintServer>
{
    [Fact]
    public async Task List_PagedWithCursor_EveryItemOnceInStableOrder()
    {
        using var api = server.Client();
        var prefix = "page-" + Guid.NewGuid().ToString("N")[..6];
        var created = new List<string>();
        for (var i = 0; i < 5; i++)
            created.Add(await api.CreateMciAsync($"{prefix}-{i}"));

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = (await api.GetAsync($"/api/multi-cloud-images?name={prefix}&limit=2" + (cursor is null ? "" : $"&cursor={cursor}"))).ShouldHaveStatus(200);
            seen.AddRange(page.Body["items"]!.AsArray().Select(i => i!["id"]!.ToString()));
            cursor = page.Body["next"]?.ToString();
            pages++;
        }
        while (cursor is not null);

        pages.ShouldBe(3);
        seen.ShouldBe(created.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task CommitMci_FreezesSettingsAndMatchers_HeadStaysEditable()
    {
        using var api = server.Client();
        var folder = TestImages.NewFolder();
        var image = TestImages.Write(folder, "img.raw", seed: 11);
        var cloud = await api.CreateFolderCloudAsync(folder);
        await api.RematchAsync(cloud);
        var head = await api.CreateMciAsync("frozen");
        await api.AddMatcherAsync(head, TestImages.FileDigests(image));

        var first = (await api.PostAsync($"/api/multi-cloud-images/{head}/commit", new { message = "v1" })).ShouldHaveStatus(201);
        var second = (await api.PostAsync($"/api/multi-cloud-images/{head}/commit", new { message = "v2" })).ShouldHaveStatus(201);

        first.Body["revision"]!.GetValue<int>().ShouldBe(1);
        second.Body["revision"]!.GetValue<int>().ShouldBe(2);
        first["lineage"].ShouldBe((await api.GetAsync($"/api/multi-cloud-images/{head}"))["lineage"]);
        first["commitMessage"].ShouldBe("v1");
        var revisionMap = await api.MapEntryAsync(first["id"], cloud);
        revisionMap["status"]!.ToString().ShouldBe("matched");
        (await api.PatchAsync($"/api/multi-cloud-images/{head}", new { name = "still editable" })).ShouldHaveStatus(200);
        (await api.GetAsync($"/api/multi-cloud-images/{first["id"]}"))["name"].ShouldBe("frozen");
    }

    [Fact]
    public async Task CloneMci_NewLineageRevisionZero_SameMatchers()
    {
        using var api = server.Client();
        var source = await api.CreateMciAsync("source");
        await api.AddMatcherAsync(source, ["md5:d41d8cd98f00b204e9800998ecf8427e"], "img");

        var clone = (await api.PostAsync($"/api/multi-cloud-images/{source}/clone", new { name = "the clone" })).ShouldHaveStatus(201);

        clone["name"].ShouldBe("the clone");
        clone.Body["revision"]!.GetValue<int>().ShouldBe(0);
        clone["lineage"].ShouldNotBe((await api.GetAsync($"/api/multi-cloud-images/{source}"))["lineage"]);
        var matcher = (await api.GetAsync($"/api/multi-cloud-images/{clone["id"]}/matchers")).Body["items"]!.AsArray().ShouldHaveSingleItem()!;
        matcher["fingerprint"]![0]!.ToString().ShouldBe("md5:d41d8cd98f00b204e9800998ecf8427e");
        matcher["imageName"]!.ToString().ShouldBe("img");
    }

    [Fact]
    public async Task AddMatcher_VirtualSize_RoundTripsAndTravelsIntoCommitAndClone()
    {
        using var api = server.Client();
        var head = await api.CreateMciAsync();
        var disk = "disk-sha256:" + new string('a', 64);
        // The two fields of what `imprint fingerprint --json` prints for a 10 GiB disk.
        var sized = (await api.PostAsync($"/api/multi-cloud-images/{head}/matchers",
            new { cloudKind = "openstack", fingerprint = new[] { disk }, virtualSize = 10737418240L })).ShouldHaveStatus(201);
        var unsized = (await api.PostAsync($"/api/multi-cloud-images/{head}/matchers",
            new { cloudKind = "folder", fingerprint = new[] { disk } })).ShouldHaveStatus(201);

        sized.Body["virtualSize"]!.GetValue<long>().ShouldBe(10737418240L);
        unsized.Body.AsObject().ContainsKey("virtualSize").ShouldBeTrue();
        unsized.Body["virtualSize"].ShouldBeNull();
        (await api.GetAsync($"/api/multi-cloud-images/{head}/matchers/{sized["id"]}")).ShouldHaveStatus(200).Body["virtualSize"]!.GetValue<long>().ShouldBe(10737418240L);
        var revision = (await api.PostAsync($"/api/multi-cloud-images/{head}/commit", new { message = "sized" })).ShouldHaveStatus(201)["id"];
        var clone = (await api.PostAsync($"/api/multi-cloud-images/{head}/clone", new { name = "sized clone" })).ShouldHaveStatus(201)["id"];
        foreach (var copy in new[] { revision, clone })
        {
            var matchers = (await api.GetAsync($"/api/multi-cloud-images/{copy}/matchers")).ShouldHaveStatus(200).Body["items"]!.AsArray()
                .ToDictionary(m => m!["cloudKind"]!.ToString(), m => m!);
            matchers["openstack"]["virtualSize"]!.GetValue<long>().ShouldBe(10737418240L);
            matchers["folder"]["virtualSize"].ShouldBeNull();
        }
    }

    [Fact]
    public async Task ImageMap_NoMatch_SaysTheVirtualSizeOfTheImageToUpload()
    {
        using var api = server.Client();
        var cloud = await api.CreateFolderCloudAsync(TestImages.NewFolder());
        var mci = await api.CreateMciAsync();
        (await api.PostAsync($"/api/multi-cloud-images/{mci}/matchers",
            new { cloudKind = "folder", fingerprint = new[] { "disk-sha256:" + new string('b', 64) }, virtualSize = 2147483648L })).ShouldHaveStatus(201);

        await api.RematchAsync(cloud);

        var entry = await api.MapEntryAsync(mci, cloud);
        entry["status"]!.ToString().ShouldBe("no-match");
        entry["virtualSize"]!.GetValue<long>().ShouldBe(2147483648L);
    }

    [Fact]
    public async Task CommitTemplate_CommitsItsHeadMcisAndPointsAtThem()
    {
        using var api = server.Client();
        var mci = await api.CreateMciAsync();
        var template = await api.CreateTemplateAsync(mci);

        var revision = (await api.PostAsync($"/api/server-templates/{template}/commit", new { message = "release" })).ShouldHaveStatus(201);

        revision.Body["revision"]!.GetValue<int>().ShouldBe(1);
        var link = (await api.GetAsync($"/api/server-templates/{revision["id"]}/multi-cloud-images")).Body["items"]!.AsArray().ShouldHaveSingleItem()!;
        link["mciId"]!.ToString().ShouldNotBe(mci);
        link["revision"]!.GetValue<int>().ShouldBe(1);
        link["isDefault"]!.GetValue<bool>().ShouldBeTrue();
        var other = await api.CreateMciAsync();
        (await api.PostAsync($"/api/server-templates/{revision["id"]}/multi-cloud-images", new { mciId = other })).ShouldHaveStatus(409);
    }

    [Fact]
    public async Task CommitTemplate_WithoutMci_409()
    {
        using var api = server.Client();
        var template = (await api.PostAsync("/api/server-templates", new { name = "empty" })).ShouldHaveStatus(201)["id"];

        (await api.PostAsync($"/api/server-templates/{template}/commit")).ShouldHaveStatus(409);
    }

    [Fact]
    public async Task Images_FilterByNameAndDigest()
    {
        using var api = server.Client();
        var folder = TestImages.NewFolder();
        var a = TestImages.Write(folder, "alpha.raw", seed: 12);
        TestImages.Write(folder, "sub/beta.raw", seed: 13);
        var cloud = await api.CreateFolderCloudAsync(folder);
        await api.RematchAsync(cloud);

        var all = (await api.GetAsync($"/api/clouds/{cloud}/images")).Body["items"]!.AsArray();
        var byName = (await api.GetAsync($"/api/clouds/{cloud}/images?name=BETA")).Body["items"]!.AsArray();
        var byDigest = (await api.GetAsync($"/api/clouds/{cloud}/images?digest={TestImages.FileDigests(a)[1]}")).Body["items"]!.AsArray();

        all.Select(i => i!["uid"]!.ToString()).ShouldBe(["alpha.raw", "sub/beta.raw"]);
        byName.ShouldHaveSingleItem()!["uid"]!.ToString().ShouldBe("sub/beta.raw");
        var image = byDigest.ShouldHaveSingleItem()!;
        image["name"]!.ToString().ShouldBe("alpha.raw");
        image["digests"]!.AsArray().Select(d => d!.ToString()).ShouldBeSubsetOf(
            image["digests"]!.AsArray().Select(d => d!.ToString()));
        image["digests"]!.AsArray().Select(d => d!.ToString()).ShouldContain(TestImages.FileDigests(a)[0]);
        image["size"]!.GetValue<long>().ShouldBe(256 * 1024);
        image["status"]!.ToString().ShouldBe("active");
    }

    [Fact]
    public async Task Rematch_UnchangedFile_DigestsNotRecomputed()
    {
        using var api = server.Client();
        var folder = TestImages.NewFolder();
        var path = TestImages.Write(folder, "cached.raw", seed: 14);
        var original = TestImages.FileDigests(path);
        var cloud = await api.CreateFolderCloudAsync(folder);
        await api.RematchAsync(cloud);
        // Same size and modification time, other bytes: only a cache keyed by (path, size, mtime) keeps the old digests.
        var modified = File.GetLastWriteTimeUtc(path);
        TestImages.Write(folder, "cached.raw", seed: 15);
        File.SetLastWriteTimeUtc(path, modified);

        var report = await api.RematchAsync(cloud);

        report.Body["inventory"]!["changed"]!.GetValue<int>().ShouldBe(0);
        var image = (await api.GetAsync($"/api/clouds/{cloud}/images")).Body["items"]![0]!;
        image["digests"]!.AsArray().Select(d => d!.ToString()).ShouldContain(original[1]);

        File.SetLastWriteTimeUtc(path, modified.AddSeconds(1));
        (await api.RematchAsync(cloud)).Body["inventory"]!["changed"]!.GetValue<int>().ShouldBe(1);
    }
}

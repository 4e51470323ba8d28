using System.Globalization;
using Imprint.Storage;
using Imprint.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Imprint.Tests.Api;

/// <summary>The flow of issue 2's "done when", through the HTTP API of a real server on SQLite.</summary>
public sealed class EndToEndTests(ImprintServer server) : EndToEndScenarios(server), IClassFixture<ImprintServer>;

/// <summary>The same flow with the server on a real PostgreSQL.</summary>
public sealed class PostgresEndToEndTests(PostgresImprintServer server) : EndToEndScenarios(server), IClassFixture<PostgresImprintServer>;

public abstract class EndToEndScenarios(ImprintServer server)
{
    [Fact]
    public async Task Flow_MatchInOneCloud_LaunchRefusedInOther_UntilImageCopiedThere()
    {
        using var api = server.Client();
        var lab = TestImages.NewFolder();
        var branch = TestImages.NewFolder();
        var image = TestImages.Write(lab, "ubuntu.raw", seed: 1);
        TestImages.Write(branch, "other.raw", seed: 2);
        var labId = await api.CreateFolderCloudAsync(lab, contact: "lab@example.com");
        var branchId = await api.CreateFolderCloudAsync(branch, contact: "branch@example.com");
        var mci = await api.CreateMciAsync();
        await api.AddMatcherAsync(mci, TestImages.FileDigests(image), "ubuntu.raw");
        var template = await api.CreateTemplateAsync(mci);

        var labReport = await api.RematchAsync(labId);
        await api.RematchAsync(branchId);

        labReport["status"].ShouldBe("ok");
        labReport.Body["inventory"]!["images"]!.GetValue<int>().ShouldBe(1);
        labReport.Body["settings"]!["created"]!.AsArray().ShouldHaveSingleItem()!["imageUid"]!.ToString().ShouldBe("ubuntu.raw");
        var inLab = await api.MapEntryAsync(mci, labId);
        inLab["status"]!.ToString().ShouldBe("matched");
        inLab["image"]!["uid"]!.ToString().ShouldBe("ubuntu.raw");
        var inBranch = await api.MapEntryAsync(mci, branchId);
        inBranch["status"]!.ToString().ShouldBe("no-match");
        inBranch["adminContact"]!.ToString().ShouldBe("branch@example.com");
        inBranch["reason"]!.ToString().ShouldContain("branch@example.com");
        inBranch["fingerprint"]!.AsArray().Select(d => d!.ToString()).ShouldBe(TestImages.FileDigests(image).Order());

        var launched = (await api.PostAsync("/api/servers", new { name = "web-1", serverTemplateId = template, cloudId = labId })).ShouldHaveStatus(201);
        launched.Body["image"]!["uid"]!.ToString().ShouldBe("ubuntu.raw");
        launched["mciId"].ShouldBe(mci);
        var refused = (await api.PostAsync("/api/servers", new { name = "web-2", serverTemplateId = template, cloudId = branchId })).ShouldHaveStatus(422);
        refused.MediaType.ShouldBe("application/problem+json");
        refused["type"].ShouldEndWith("/no-image-match");
        refused["cloudId"].ShouldBe(branchId);
        refused["mciId"].ShouldBe(mci);
        refused["adminContact"].ShouldBe("branch@example.com");
        refused["detail"].ShouldContain(TestImages.FileDigests(image)[0]);
        refused.Body["fingerprint"]!.AsArray().Count.ShouldBe(3);

        File.Copy(image, Path.Combine(branch, "ubuntu.raw"));
        var branchReport = await api.RematchAsync(branchId);

        branchReport.Body["inventory"]!["added"]!.GetValue<int>().ShouldBe(1);
        branchReport.Body["settings"]!["created"]!.AsArray().Count.ShouldBe(1);
        var change = branchReport.Body["matches"]!["changed"]!.AsArray().ShouldHaveSingleItem()!;
        change["from"]!.ToString().ShouldBe("no-match");
        change["to"]!.ToString().ShouldBe("matched");
        (await api.PostAsync("/api/servers", new { name = "web-3", serverTemplateId = template, cloudId = branchId })).ShouldHaveStatus(201);
        var map = (await api.GetAsync($"/api/server-templates/{template}/image-map")).ShouldHaveStatus(200);
        var launchable = map.Body["clouds"]!.AsArray().Where(c => c!["cloudId"]!.ToString() is var id && (id == labId || id == branchId));
        launchable.Select(c => c!["launchable"]!.GetValue<bool>()).ShouldBe([true, true]);
    }

    [Fact]
    public async Task Rematch_FolderVanishes_FailedReportStaleMapKeepsImage_ThenRecovers()
    {
        using var api = server.Client();
        var folder = TestImages.NewFolder();
        var image = TestImages.Write(folder, "a.raw", seed: 3);
        var cloud = await api.CreateFolderCloudAsync(folder);
        var mci = await api.CreateMciAsync();
        await api.AddMatcherAsync(mci, TestImages.FileDigests(image));
        await api.RematchAsync(cloud);
        var hidden = folder + ".away";
        Directory.Move(folder, hidden);

        var failed = await api.RematchAsync(cloud);

        failed["status"].ShouldBe("failed");
        failed["error"].ShouldContain("does not exist");
        failed.Body["inventory"]!["images"]!.GetValue<int>().ShouldBe(1);
        failed.Body["settings"]!["destroyed"]!.AsArray().ShouldBeEmpty();
        var stale = await api.MapEntryAsync(mci, cloud);
        stale["status"]!.ToString().ShouldBe("stale");
        stale["image"]!["uid"]!.ToString().ShouldBe("a.raw");
        stale["error"]!.ToString().ShouldContain("does not exist");
        (await api.GetAsync($"/api/clouds/{cloud}/images")).Body["items"]!.AsArray().Count.ShouldBe(1);
        (await api.GetAsync($"/api/multi-cloud-images/{mci}/settings")).Body["items"]!.AsArray().Count.ShouldBe(1);

        Directory.Move(hidden, folder);
        var recovered = await api.RematchAsync(cloud);

        recovered["status"].ShouldBe("ok");
        (await api.MapEntryAsync(mci, cloud))["status"]!.ToString().ShouldBe("matched");
        (await api.GetAsync($"/api/clouds/{cloud}")).Body["lastSyncError"].ShouldBeNull();
    }

    [Fact]
    public async Task Rematch_ManyImagesAddedThenMostRemoved_InventoryIsExactlyTheFolder()
    {
        // 23 new images are written in several multi-row statements (and a last, shorter one); 14 vanish in one delete.
        using var api = server.Client();
        var folder = TestImages.NewFolder();
        var written = Enumerable.Range(0, 23).ToDictionary(i => $"img-{i:00}.raw", i => TestImages.Write(folder, $"img-{i:00}.raw", seed: 100 + i, size: 4096 * (i + 1)));
        var cloud = await api.CreateFolderCloudAsync(folder);

        var first = await api.RematchAsync(cloud);

        first.Body["inventory"]!["added"]!.GetValue<int>().ShouldBe(23);
        await ShouldListExactlyAsync(api, cloud, written);
        foreach (var name in written.Keys.Where((_, i) => i % 5 != 0).ToList())
        {
            File.Delete(written[name]);
            written.Remove(name);
        }
        written["late.raw"] = TestImages.Write(folder, "late.raw", seed: 99);

        var second = await api.RematchAsync(cloud);

        second.Body["inventory"]!["added"]!.GetValue<int>().ShouldBe(1);
        second.Body["inventory"]!["removed"]!.GetValue<int>().ShouldBe(18);
        await ShouldListExactlyAsync(api, cloud, written);
    }

    [Fact]
    public async Task Rematch_NothingChanged_MatchRecordNotRewritten_MapStillShowsTheLatestCheck()
    {
        using var api = server.Client();
        var folder = TestImages.NewFolder();
        var image = TestImages.Write(folder, "a.raw", seed: 7);
        var cloud = await api.CreateFolderCloudAsync(folder);
        var mci = await api.CreateMciAsync();
        await api.AddMatcherAsync(mci, TestImages.FileDigests(image));
        await api.RematchAsync(cloud);
        var written = await StoredChangeAsync(mci, cloud);
        var shown = DateTimeOffset.Parse((await api.MapEntryAsync(mci, cloud))["lastCheckedAt"]!.ToString(), CultureInfo.InvariantCulture);
        await Task.Delay(20, TestContext.Current.CancellationToken);

        var again = await api.RematchAsync(cloud);

        again.Body["matches"]!["changed"]!.AsArray().ShouldBeEmpty();
        (await StoredChangeAsync(mci, cloud)).ShouldBe(written);
        var entry = await api.MapEntryAsync(mci, cloud);
        entry["status"]!.ToString().ShouldBe("matched");
        DateTimeOffset.Parse(entry["lastCheckedAt"]!.ToString(), CultureInfo.InvariantCulture).ShouldBeGreaterThan(shown);
    }

    private async Task<DateTimeOffset> StoredChangeAsync(string mci, string cloud)
    {
        await using var db = await server.App.Services.GetRequiredService<IDbContextFactory<ImprintDb>>().CreateDbContextAsync(TestContext.Current.CancellationToken);
        return (await db.Matches.SingleAsync(m => m.MciId == mci && m.CloudId == cloud, TestContext.Current.CancellationToken)).ChangedAt;
    }

    private static async Task ShouldListExactlyAsync(ApiClient api, string cloud, Dictionary<string, string> files)
    {
        var items = (await api.GetAsync($"/api/clouds/{cloud}/images?limit=100")).ShouldHaveStatus(200).Body["items"]!.AsArray();
        var listed = items.ToDictionary(i => i!["uid"]!.ToString(), i => i!);
        listed.Keys.Order(StringComparer.Ordinal).ShouldBe(files.Keys.Order(StringComparer.Ordinal));
        foreach (var (uid, path) in files)
        {
            listed[uid]["size"]!.GetValue<long>().ShouldBe(new FileInfo(path).Length);
            TestImages.FileDigests(path).ShouldBeSubsetOf(listed[uid]["digests"]!.AsArray().Select(d => d!.ToString()));
            listed[uid]["virtualSize"]!.GetValue<long>().ShouldBe(new FileInfo(path).Length);
            DateTimeOffset.Parse(listed[uid]["updatedAt"]!.ToString(), CultureInfo.InvariantCulture)
                .ShouldBe(new DateTimeOffset(File.GetLastWriteTimeUtc(path)), TimeSpan.FromMilliseconds(1));
        }
    }

    [Fact]
    public async Task HandWrittenSetting_ImageGone_Missing_AndPinsOverMatcher()
    {
        using var api = server.Client();
        var folder = TestImages.NewFolder();
        var matching = TestImages.Write(folder, "matching.raw", seed: 4);
        TestImages.Write(folder, "pinned.raw", seed: 5);
        var cloud = await api.CreateFolderCloudAsync(folder);
        await api.RematchAsync(cloud);
        var mci = await api.CreateMciAsync();
        await api.AddMatcherAsync(mci, TestImages.FileDigests(matching));
        (await api.MapEntryAsync(mci, cloud))["image"]!["uid"]!.ToString().ShouldBe("matching.raw");

        (await api.PostAsync($"/api/multi-cloud-images/{mci}/settings", new { cloudId = cloud, imageUid = "pinned.raw", instanceType = "m1.small" })).ShouldHaveStatus(201);

        var pinned = await api.MapEntryAsync(mci, cloud);
        pinned["status"]!.ToString().ShouldBe("matched");
        pinned["image"]!["uid"]!.ToString().ShouldBe("pinned.raw");
        var settings = (await api.GetAsync($"/api/multi-cloud-images/{mci}/settings")).Body["items"]!.AsArray();
        settings.ShouldHaveSingleItem()!["generatedBy"].ShouldBeNull();

        File.Delete(Path.Combine(folder, "pinned.raw"));
        await api.RematchAsync(cloud);

        var missing = await api.MapEntryAsync(mci, cloud);
        missing["status"]!.ToString().ShouldBe("missing");
        missing["reason"]!.ToString().ShouldContain("pinned.raw");
        var template = await api.CreateTemplateAsync(mci);
        (await api.PostAsync("/api/servers", new { name = "x", serverTemplateId = template, cloudId = cloud })).ShouldHaveStatus(422);
    }

    [Fact]
    public async Task Matcher_ExpectedNameOtherBytes_Suspect_CopiesAmbiguousByRule()
    {
        using var api = server.Client();
        var folder = TestImages.NewFolder();
        var genuine = TestImages.Write(TestImages.NewFolder(), "debian.raw", seed: 6);
        TestImages.Write(folder, "debian.raw", seed: 7);
        var cloud = await api.CreateFolderCloudAsync(folder);
        await api.RematchAsync(cloud);
        var mci = await api.CreateMciAsync();
        await api.AddMatcherAsync(mci, TestImages.FileDigests(genuine), "debian.raw");

        var suspect = await api.MapEntryAsync(mci, cloud);
        suspect["status"]!.ToString().ShouldBe("suspect");
        suspect["image"].ShouldBeNull();
        suspect["candidates"]!.AsArray().ShouldHaveSingleItem()!["evidence"]!.ToString().ShouldBe("name-only");

        File.Copy(genuine, Path.Combine(folder, "copy-b.raw"));
        File.Copy(genuine, Path.Combine(folder, "copy-a.raw"));
        File.SetLastWriteTimeUtc(Path.Combine(folder, "copy-a.raw"), File.GetLastWriteTimeUtc(Path.Combine(folder, "copy-b.raw")));
        await api.RematchAsync(cloud);

        var ambiguous = await api.MapEntryAsync(mci, cloud);
        ambiguous["status"]!.ToString().ShouldBe("ambiguous");
        ambiguous["image"]!["uid"]!.ToString().ShouldBe("copy-a.raw");
        ambiguous["rule"]!.ToString().ShouldContain("lowest uid");
        ambiguous["reason"]!.ToString().ShouldContain("lowest uid");
        ambiguous["candidates"]!.AsArray().Select(c => c!["uid"]!.ToString()).ShouldBe(["copy-a.raw", "copy-b.raw", "debian.raw"]);
    }

    [Fact]
    public async Task Launch_GivenMci_UsesIt_ElseDefaultThenOthers()
    {
        using var api = server.Client();
        var folder = TestImages.NewFolder();
        var onlySecond = TestImages.Write(folder, "second.raw", seed: 8);
        var cloud = await api.CreateFolderCloudAsync(folder);
        await api.RematchAsync(cloud);
        var first = await api.CreateMciAsync();
        await api.AddMatcherAsync(first, TestImages.FileDigests(TestImages.Write(TestImages.NewFolder(), "x.raw", seed: 9)));
        var second = await api.CreateMciAsync();
        await api.AddMatcherAsync(second, TestImages.FileDigests(onlySecond));
        var template = await api.CreateTemplateAsync(first, second);

        var fallback = (await api.PostAsync("/api/servers", new { name = "a", serverTemplateId = template, cloudId = cloud })).ShouldHaveStatus(201);
        fallback["mciId"].ShouldBe(second);
        var forced = (await api.PostAsync("/api/servers", new { name = "b", serverTemplateId = template, cloudId = cloud, mciId = first })).ShouldHaveStatus(422);
        forced["mciId"].ShouldBe(first);
        (await api.PostAsync("/api/servers", new { name = "c", serverTemplateId = template, cloudId = cloud, mciId = "mci_nope" })).ShouldHaveStatus(400);
        var server1 = (await api.GetAsync(fallback.Body["href"]!.ToString())).ShouldHaveStatus(200);
        server1.Body["image"]!["uid"]!.ToString().ShouldBe("second.raw");
    }
}

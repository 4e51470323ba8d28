using System.Text.Json.Nodes;
using Imprint.Storage;
using Imprint.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Imprint.Tests.Marketplace;

/// <summary>Publish in one account, import in another: the copy resolves against the importer's own folder cloud.</summary>
public sealed class MarketplaceTests(ImprintServer server) : MarketplaceScenarios(server), IClassFixture<ImprintServer>;

/// <summary>The same on a real PostgreSQL, where simultaneous imports really run side by side.</summary>
public sealed class PostgresMarketplaceTests(PostgresImprintServer server) : MarketplaceScenarios(server), IClassFixture<PostgresImprintServer>;

public abstract class MarketplaceScenarios(ImprintServer server)
{
    [Fact]
    public async Task PublishImportRematchLaunch_ResolvesInImportersOwnCloud()
    {
        var publisher = await server.CreateAccountWithRolesAsync();
        var importer = await server.CreateAccountWithRolesAsync();
        using var pub = publisher.As("publisher");
        using var pubClouds = publisher.As("cloud-admin");
        var pubFolder = TestImages.NewFolder();
        var image = TestImages.Write(pubFolder, "golden.raw", seed: 42);
        var pubCloud = await pubClouds.CreateFolderCloudAsync(pubFolder);
        var mci = await pub.CreateMciAsync("golden");
        await pub.AddMatcherAsync(mci, TestImages.FileDigests(image), "golden.raw");
        // A hand-written setting on the publisher's private cloud: it must not travel.
        (await pub.PostAsync($"/api/multi-cloud-images/{mci}/settings", new { cloudId = pubCloud, imageUid = "golden.raw", instanceType = "m1.secret" })).ShouldHaveStatus(201);
        var template = await pub.CreateTemplateAsync(mci);
        var committed = (await pub.PostAsync($"/api/server-templates/{template}/commit", new { message = "first" })).ShouldHaveStatus(201);

        var headRefused = await pub.PostAsync($"/api/server-templates/{template}/publish", new { revision = 0, description = "x" });
        headRefused.ShouldHaveStatus(409);
        (await pub.PostAsync($"/api/server-templates/{template}/publish", new { description = "x" })).ShouldHaveStatus(409);
        var publication = (await pub.PostAsync($"/api/server-templates/{template}/publish", new { revision = 1, description = "Golden image" })).ShouldHaveStatus(201);
        publication.Text.ShouldNotContain(pubCloud);
        publication.Text.ShouldNotContain("m1.secret");
        publication.Body["multiCloudImages"]!.AsArray().ShouldHaveSingleItem()!["matchers"]!.AsArray().Count.ShouldBe(1);
        // Publishing the same revision again, by its own id this time, is a conflict.
        (await pub.PostAsync($"/api/server-templates/{committed["id"]}/publish", new { description = "again" })).ShouldHaveStatus(409);

        // The importer's own cloud holds the same bytes under another name.
        using var imp = importer.As("designer");
        using var impClouds = importer.As("cloud-admin");
        var impFolder = TestImages.NewFolder();
        File.Copy(image, Path.Combine(impFolder, "local-copy.raw"));
        var impCloud = await impClouds.CreateFolderCloudAsync(impFolder, contact: "importer-ops@example.com");
        await impClouds.RematchAsync(impCloud);

        var listed = (await imp.GetAsync("/api/publications?limit=500")).ShouldHaveStatus(200).Body["items"]!.AsArray()
            .Single(p => p!["id"]!.ToString() == publication["id"])!;
        listed["publishedByMe"]!.GetValue<bool>().ShouldBeFalse();
        listed["importedServerTemplateId"].ShouldBeNull();
        var imported = (await imp.PostAsync($"/api/publications/{publication["id"]}/import")).ShouldHaveStatus(201);
        var copy = imported["serverTemplateId"];
        var copyMci = imported.Body["multiCloudImageIds"]!.AsArray().ShouldHaveSingleItem()!.ToString();
        copy.ShouldNotBe(committed["id"]);
        copyMci.ShouldNotBe(mci);

        var settings = (await imp.GetAsync($"/api/multi-cloud-images/{copyMci}/settings")).ShouldHaveStatus(200);
        settings.Text.ShouldNotContain(pubCloud);
        settings.Text.ShouldNotContain("m1.secret");
        var map = (await imp.GetAsync($"/api/server-templates/{copy}/image-map")).ShouldHaveStatus(200);
        var clouds = map.Body["clouds"]!.AsArray();
        clouds.ShouldHaveSingleItem()!["cloudId"]!.ToString().ShouldBe(impCloud);
        clouds[0]!["launchable"]!.GetValue<bool>().ShouldBeTrue();
        map.Text.ShouldNotContain(pubCloud);
        var entry = await imp.MapEntryAsync(copyMci, impCloud);
        entry["status"]!.ToString().ShouldBe("matched");
        entry["image"]!["uid"]!.ToString().ShouldBe("local-copy.raw");
        var launched = (await imp.PostAsync("/api/servers", new { name = "imported-1", serverTemplateId = copy, cloudId = impCloud })).ShouldHaveStatus(201);
        launched.Body["image"]!["uid"]!.ToString().ShouldBe("local-copy.raw");
        // The publisher cannot launch the importer's copy, nor see it.
        (await pub.GetAsync($"/api/server-templates/{copy}")).ShouldHaveStatus(404);

        // Importing again changes nothing.
        var again = (await imp.PostAsync($"/api/publications/{publication["id"]}/import")).ShouldHaveStatus(201);
        again["serverTemplateId"].ShouldBe(copy);
        again.Body["created"]!.GetValue<bool>().ShouldBeFalse();
        again.Body["multiCloudImageIds"]!.AsArray().Single()!.ToString().ShouldBe(copyMci);
        var templates = (await imp.GetAsync("/api/server-templates?limit=500")).ShouldHaveStatus(200).Body["items"]!.AsArray();
        templates.Count(t => t!["lineage"]!.ToString() == publication["lineage"]).ShouldBe(1);
    }

    [Fact]
    public async Task NewerRevision_ShownToImporter_SameMciRevisionReused_WithdrawHidesIt()
    {
        var publisher = await server.CreateAccountWithRolesAsync();
        var importer = await server.CreateAccountWithRolesAsync();
        using var pub = publisher.As("publisher");
        using var imp = importer.As("admin");
        var mci = await pub.CreateMciAsync();
        await pub.AddMatcherAsync(mci, ["md5:" + new string('a', 32)]);
        var mciRevision = (await pub.PostAsync($"/api/multi-cloud-images/{mci}/commit", new { message = "m1" })).ShouldHaveStatus(201)["id"];
        var template = await pub.CreateTemplateAsync(mciRevision);
        (await pub.PostAsync($"/api/server-templates/{template}/commit", new { message = "one" })).ShouldHaveStatus(201);
        var first = (await pub.PostAsync($"/api/server-templates/{template}/publish", new { revision = 1, description = "one" })).ShouldHaveStatus(201)["id"];
        var firstImport = (await imp.PostAsync($"/api/publications/{first}/import")).ShouldHaveStatus(201);

        (await pub.PatchAsync($"/api/server-templates/{template}", new { description = "better" })).ShouldHaveStatus(200);
        (await pub.PostAsync($"/api/server-templates/{template}/commit", new { message = "two" })).ShouldHaveStatus(201);
        var second = (await pub.PostAsync($"/api/server-templates/{template}/publish", new { revision = 2, description = "two" })).ShouldHaveStatus(201)["id"];

        var seen = (await imp.GetAsync($"/api/publications/{first}")).ShouldHaveStatus(200);
        seen["importedServerTemplateId"].ShouldBe(firstImport["serverTemplateId"]);
        seen.Body["importedRevision"]!.GetValue<int>().ShouldBe(1);
        seen.Body["latestRevision"]!.GetValue<int>().ShouldBe(2);
        seen.Body["newerRevisionAvailable"]!.GetValue<bool>().ShouldBeTrue();

        var secondImport = (await imp.PostAsync($"/api/publications/{second}/import")).ShouldHaveStatus(201);
        secondImport["serverTemplateId"].ShouldNotBe(firstImport["serverTemplateId"]);
        // Both revisions list the same committed MCI revision: the importer's copy of it is reused.
        secondImport.Body["multiCloudImageIds"]!.AsArray().Single()!.ToString()
            .ShouldBe(firstImport.Body["multiCloudImageIds"]!.AsArray().Single()!.ToString());
        (await imp.GetAsync($"/api/publications/{second}")).Body["newerRevisionAvailable"]!.GetValue<bool>().ShouldBeFalse();

        // Only the publisher's account may withdraw; to others the publication is not theirs to remove.
        (await imp.DeleteAsync($"/api/publications/{second}")).ShouldHaveStatus(404);
        (await pub.DeleteAsync($"/api/publications/{second}")).ShouldHaveStatus(204);
        (await imp.GetAsync($"/api/publications/{second}")).ShouldHaveStatus(404);
        (await imp.PostAsync($"/api/publications/{second}/import")).ShouldHaveStatus(404);
        var list = (await imp.GetAsync("/api/publications?limit=500")).Body["items"]!.AsArray();
        list.ShouldNotContain(p => p!["id"]!.ToString() == second);
        // What was imported stays.
        (await imp.GetAsync($"/api/server-templates/{secondImport["serverTemplateId"]}")).ShouldHaveStatus(200);
    }

    [Fact]
    public async Task Roles_DesignerImportsButCannotPublish_ViewerCannotImport()
    {
        var publisher = await server.CreateAccountWithRolesAsync();
        var other = await server.CreateAccountWithRolesAsync();
        using var pub = publisher.As("publisher");
        var mci = await pub.CreateMciAsync();
        var template = await pub.CreateTemplateAsync(mci);
        (await pub.PostAsync($"/api/server-templates/{template}/commit", new { message = "one" })).ShouldHaveStatus(201);
        using (var designer = publisher.As("designer"))
            (await designer.PostAsync($"/api/server-templates/{template}/publish", new { revision = 1 })).ShouldHaveStatus(403);
        var id = (await pub.PostAsync($"/api/server-templates/{template}/publish", new { revision = 1 })).ShouldHaveStatus(201)["id"];

        using (var viewer = other.As("viewer"))
        {
            (await viewer.GetAsync($"/api/publications/{id}")).ShouldHaveStatus(200);
            (await viewer.PostAsync($"/api/publications/{id}/import")).ShouldHaveStatus(403);
        }
        using (var cloudAdmin = other.As("cloud-admin"))
            (await cloudAdmin.PostAsync($"/api/publications/{id}/import")).ShouldHaveStatus(403);
        using (var designer = other.As("designer"))
            (await designer.PostAsync($"/api/publications/{id}/import")).ShouldHaveStatus(201);
        using var audit = other.As("admin");
        var entries = (await audit.GetAsync("/api/audit")).ShouldHaveStatus(200).Body["items"]!.AsArray();
        entries.ShouldContain(e => e!["action"]!.ToString() == "publication.import");
    }

    [Fact]
    public async Task PublishImport_MatcherKeepsItsVirtualSize_AndASnapshotWithoutOneImportsAsUnknown()
    {
        var publisher = await server.CreateAccountWithRolesAsync();
        using var pub = publisher.As("publisher");
        var mci = await pub.CreateMciAsync("sized");
        (await pub.PostAsync($"/api/multi-cloud-images/{mci}/matchers",
            new { cloudKind = "openstack", fingerprint = new[] { "disk-sha256:" + new string('b', 64) }, virtualSize = 21474836480L })).ShouldHaveStatus(201);
        var template = await pub.CreateTemplateAsync(mci);
        (await pub.PostAsync($"/api/server-templates/{template}/commit", new { message = "v1" })).ShouldHaveStatus(201);
        var sized = (await pub.PostAsync($"/api/server-templates/{template}/publish", new { revision = 1, description = "sized" })).ShouldHaveStatus(201)["id"];
        (await pub.PostAsync($"/api/server-templates/{template}/commit", new { message = "v2" })).ShouldHaveStatus(201);
        var old = (await pub.PostAsync($"/api/server-templates/{template}/publish", new { revision = 2, description = "old" })).ShouldHaveStatus(201)["id"];
        await RemoveVirtualSizesFromSnapshotAsync(old); // as published before matchers had a virtual size

        using var first = (await server.CreateAccountWithRolesAsync()).As("designer");
        using var second = (await server.CreateAccountWithRolesAsync()).As("designer");
        var sizedMatcher = await ImportedMatcherAsync(first, sized);
        var oldMatcher = await ImportedMatcherAsync(second, old);

        sizedMatcher["virtualSize"]!.GetValue<long>().ShouldBe(21474836480L);
        oldMatcher["fingerprint"]![0]!.ToString().ShouldBe("disk-sha256:" + new string('b', 64));
        oldMatcher.AsObject().ContainsKey("virtualSize").ShouldBeTrue();
        oldMatcher["virtualSize"].ShouldBeNull();
    }

    private async Task RemoveVirtualSizesFromSnapshotAsync(string publicationId)
    {
        await using var db = await server.App.Services.GetRequiredService<IDbContextFactory<ImprintDb>>().CreateDbContextAsync(TestContext.Current.CancellationToken);
        var publication = await db.Publications.SingleAsync(p => p.Id == publicationId, TestContext.Current.CancellationToken);
        var snapshot = JsonNode.Parse(publication.Snapshot)!;
        foreach (var mci in snapshot["multiCloudImages"]!.AsArray())
        {
            foreach (var matcher in mci!["matchers"]!.AsArray())
                matcher!.AsObject().Remove("virtualSize").ShouldBeTrue();
        }
        publication.Snapshot = snapshot.ToJsonString();
        await db.SaveChangesAsync(TestContext.Current.CancellationToken);
    }

    private static async Task<JsonNode> ImportedMatcherAsync(ApiClient api, string publicationId)
    {
        var imported = (await api.PostAsync($"/api/publications/{publicationId}/import")).ShouldHaveStatus(201);
        var copy = imported.Body["multiCloudImageIds"]!.AsArray().ShouldHaveSingleItem()!.ToString();
        return (await api.GetAsync($"/api/multi-cloud-images/{copy}/matchers")).ShouldHaveStatus(200).Body["items"]!.AsArray().ShouldHaveSingleItem()!;
    }

    [Fact]
    public async Task Import_SimultaneousRequests_OneCopyForAll()
    {
        var publisher = await server.CreateAccountWithRolesAsync();
        var importer = await server.CreateAccountWithRolesAsync();
        using var pub = publisher.As("publisher");
        var mci = await pub.CreateMciAsync("raced");
        await pub.AddMatcherAsync(mci, ["md5:d41d8cd98f00b204e9800998ecf8427e"]);
        var template = await pub.CreateTemplateAsync(mci);
        (await pub.PostAsync($"/api/server-templates/{template}/commit", new { message = "v1" })).ShouldHaveStatus(201);
        var publication = (await pub.PostAsync($"/api/server-templates/{template}/publish", new { revision = 1, description = "raced" })).ShouldHaveStatus(201);
        using var imp = importer.As("designer");

        var replies = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => imp.PostAsync($"/api/publications/{publication["id"]}/import")));

        replies.ShouldAllBe(r => r.Status == 201, string.Join("\n", replies.Select(r => r.ToString())));
        replies.Select(r => r["serverTemplateId"]).Distinct().ShouldHaveSingleItem();
        replies.Count(r => r.Body["created"]!.GetValue<bool>()).ShouldBe(1);
    }
}

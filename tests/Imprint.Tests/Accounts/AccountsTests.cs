using Imprint.Tests.Infrastructure;

namespace Imprint.Tests.Accounts;

/// <summary>Two accounts side by side in one server: accounts, tokens, roles, isolation and audit.</summary>
public sealed class AccountsTests(ImprintServer server) : IClassFixture<ImprintServer>
{
    [Fact]
    public async Task Accounts_OnlyTheInstallationAdmin_ListsAndCreates()
    {
        var account = await server.CreateAccountWithRolesAsync();
        using var installation = server.Client();
        using var accountAdmin = account.As("admin");

        var list = (await installation.GetAsync("/api/accounts?limit=500")).ShouldHaveStatus(200);
        list.Body["items"]!.AsArray().ShouldContain(a => a!["id"]!.ToString() == account.Id);
        list.Body["items"]!.AsArray().ShouldContain(a => a!["name"]!.ToString() == "default");
        (await accountAdmin.GetAsync("/api/accounts")).ShouldHaveStatus(403);
        (await accountAdmin.PostAsync("/api/accounts", new { name = "sneaky" })).ShouldHaveStatus(403);
        (await installation.PostAsync("/api/accounts", new { name = "" })).ShouldHaveStatus(400);
        var name = "dup-" + Guid.NewGuid().ToString("N")[..6];
        (await installation.PostAsync("/api/accounts", new { name })).ShouldHaveStatus(201);
        (await installation.PostAsync("/api/accounts", new { name })).ShouldHaveStatus(409);
    }

    [Fact]
    public async Task Tokens_AccountAdminManagesOwnOnly_RevokedTokenIs401()
    {
        var mine = await server.CreateAccountWithRolesAsync();
        var other = await server.CreateAccountWithRolesAsync();
        using var admin = mine.As("admin");

        var created = (await admin.PostAsync($"/api/accounts/{mine.Id}/tokens", new { name = "ci", role = "designer", expiresAt = TimeProvider.System.GetUtcNow().AddDays(1) })).ShouldHaveStatus(201);
        (await admin.PostAsync($"/api/accounts/{other.Id}/tokens", new { name = "x", role = "admin" })).ShouldHaveStatus(404);
        (await admin.PostAsync($"/api/accounts/{mine.Id}/tokens", new { name = "x", role = "root" })).ShouldHaveStatus(400);
        (await admin.PostAsync($"/api/accounts/{mine.Id}/tokens", new { name = "x", role = "viewer", expiresAt = TimeProvider.System.GetUtcNow().AddDays(-1) })).ShouldHaveStatus(400);
        var tokens = (await admin.GetAsync("/api/tokens")).ShouldHaveStatus(200).Body["items"]!.AsArray();
        tokens.Count.ShouldBe(6);
        tokens.ShouldAllBe(t => t!["accountId"]!.ToString() == mine.Id);
        using var designer = server.Client(created["token"]);
        (await designer.PostAsync("/api/multi-cloud-images", new { name = "by-ci" })).ShouldHaveStatus(201);

        using (var otherAdmin = other.As("admin"))
            (await otherAdmin.DeleteAsync($"/api/tokens/{created["id"]}")).ShouldHaveStatus(404);
        (await admin.DeleteAsync($"/api/tokens/{created["id"]}")).ShouldHaveStatus(204);

        (await designer.GetAsync("/api/multi-cloud-images")).ShouldHaveStatus(401);
        (await admin.GetAsync($"/api/tokens/{created["id"]}")).Body["revokedAt"].ShouldNotBeNull();
    }

    [Fact]
    public async Task Roles_EachRoleAllowedAndRefused()
    {
        var account = await server.CreateAccountWithRolesAsync();
        var folder = TestImages.NewFolder();

        using (var viewer = account.As("viewer"))
        {
            (await viewer.GetAsync("/api/server-templates")).ShouldHaveStatus(200);
            (await viewer.PostAsync("/api/multi-cloud-images", new { name = "v" })).ShouldHaveStatus(403);
            (await viewer.PostAsync("/api/clouds", new { name = "v", kind = "folder", endpoint = folder })).ShouldHaveStatus(403);
        }
        string cloud;
        using (var cloudAdmin = account.As("cloud-admin"))
        {
            cloud = await cloudAdmin.CreateFolderCloudAsync(folder);
            await cloudAdmin.RematchAsync(cloud);
            (await cloudAdmin.PostAsync("/api/multi-cloud-images", new { name = "c" })).ShouldHaveStatus(403);
            (await cloudAdmin.GetAsync("/api/audit")).ShouldHaveStatus(403);
        }
        using (var designer = account.As("designer"))
        {
            var mci = await designer.CreateMciAsync();
            var template = await designer.CreateTemplateAsync(mci);
            (await designer.PostAsync("/api/clouds", new { name = "d", kind = "folder", endpoint = folder })).ShouldHaveStatus(403);
            (await designer.PostAsync($"/api/clouds/{cloud}/rematch")).ShouldHaveStatus(403);
            (await designer.PostAsync($"/api/server-templates/{template}/commit", new { message = "m" })).ShouldHaveStatus(201);
            (await designer.PostAsync($"/api/server-templates/{template}/publish", new { revision = 1 })).ShouldHaveStatus(403);
        }
        using (var publisher = account.As("publisher"))
            (await publisher.PostAsync("/api/clouds", new { name = "p", kind = "folder", endpoint = folder })).ShouldHaveStatus(403);
        using (var admin = account.As("admin"))
        {
            (await admin.GetAsync("/api/audit")).ShouldHaveStatus(200);
            (await admin.PostAsync("/api/multi-cloud-images", new { name = "a" })).ShouldHaveStatus(201);
            (await admin.PostAsync("/api/clouds", new { name = "a", kind = "folder", endpoint = folder })).ShouldHaveStatus(201);
        }
    }

    [Fact]
    public async Task TwoAccounts_SeeOnlyTheirOwn_ResourcesImageMapsAndAudit()
    {
        var a = await server.CreateAccountWithRolesAsync();
        var b = await server.CreateAccountWithRolesAsync();
        using var apiA = a.As("admin");
        using var apiB = b.As("admin");
        var folderA = TestImages.NewFolder();
        var folderB = TestImages.NewFolder();
        var image = TestImages.Write(folderA, "shared.raw", seed: 9);
        File.Copy(image, Path.Combine(folderB, "shared.raw"));
        var cloudA = await apiA.CreateFolderCloudAsync(folderA);
        var cloudB = await apiB.CreateFolderCloudAsync(folderB);
        var mciA = await apiA.CreateMciAsync();
        var mciB = await apiB.CreateMciAsync();
        await apiA.AddMatcherAsync(mciA, TestImages.FileDigests(image));
        await apiB.AddMatcherAsync(mciB, TestImages.FileDigests(image));
        var templateA = await apiA.CreateTemplateAsync(mciA);
        await apiA.RematchAsync(cloudA);
        await apiB.RematchAsync(cloudB);
        var serverA = (await apiA.PostAsync("/api/servers", new { name = "a1", serverTemplateId = templateA, cloudId = cloudA })).ShouldHaveStatus(201)["id"];

        foreach (var (list, id) in new[] { ("/api/clouds", cloudA), ("/api/multi-cloud-images", mciA), ("/api/server-templates", templateA), ("/api/servers", serverA) })
        {
            var items = (await apiB.GetAsync(list + "?limit=500")).ShouldHaveStatus(200);
            items.Text.ShouldNotContain(id);
            (await apiB.GetAsync($"{list}/{id}")).ShouldHaveStatus(404);
        }
        (await apiB.GetAsync($"/api/clouds/{cloudA}/images")).ShouldHaveStatus(404);
        (await apiB.PostAsync("/api/servers", new { name = "b1", serverTemplateId = templateA, cloudId = cloudB })).Status.ShouldBeOneOf(400, 404);
        (await apiB.PostAsync($"/api/server-templates", new { name = "x" })).ShouldHaveStatus(201);

        // Each account's image map shows only its own clouds, though both hold the same image.
        var mapB = (await apiB.GetAsync($"/api/multi-cloud-images/{mciB}/image-map")).ShouldHaveStatus(200);
        mapB.Body["clouds"]!.AsArray().Select(c => c!["cloudId"]!.ToString()).ShouldBe([cloudB]);
        var mapA = (await apiA.GetAsync($"/api/multi-cloud-images/{mciA}/image-map")).ShouldHaveStatus(200);
        mapA.Body["clouds"]!.AsArray().Select(c => c!["cloudId"]!.ToString()).ShouldBe([cloudA]);

        var auditB = (await apiB.GetAsync("/api/audit?limit=500")).ShouldHaveStatus(200);
        auditB.Text.ShouldNotContain(cloudA);
        auditB.Text.ShouldNotContain(mciA);
    }

    [Fact]
    public async Task Audit_RecordsWhoWhatWhen_PagedNewestFirst()
    {
        var account = await server.CreateAccountWithRolesAsync();
        using var admin = account.As("admin");
        using var designer = account.As("designer");
        var designerTokenId = (await admin.GetAsync("/api/tokens")).Body["items"]!.AsArray()
            .Single(t => t!["role"]!.ToString() == "designer")!["id"]!.ToString();
        var before = TimeProvider.System.GetUtcNow().AddSeconds(-5);

        var folder = TestImages.NewFolder();
        TestImages.Write(folder, "r.raw", seed: 12);
        using (var clouds = account.As("cloud-admin"))
            await clouds.RematchAsync(await clouds.CreateFolderCloudAsync(folder));
        var mci = await designer.CreateMciAsync("audited");
        (await designer.PatchAsync($"/api/multi-cloud-images/{mci}", new { name = "audited-2" })).ShouldHaveStatus(200);

        var page = (await admin.GetAsync("/api/audit?limit=2")).ShouldHaveStatus(200);
        var items = page.Body["items"]!.AsArray();
        items.Count.ShouldBe(2);
        items[0]!["action"]!.ToString().ShouldBe("mci.update");
        items[0]!["resourceId"]!.ToString().ShouldBe(mci);
        items[0]!["tokenId"]!.ToString().ShouldBe(designerTokenId);
        items[0]!["details"]!.ToString().ShouldContain("audited-2");
        items[0]!["at"]!.GetValue<DateTimeOffset>().ShouldBeGreaterThan(before);
        items[1]!["action"]!.ToString().ShouldBe("mci.create");
        var next = page["next"];
        var rest = (await admin.GetAsync($"/api/audit?limit=500&cursor={next}")).ShouldHaveStatus(200).Body["items"]!.AsArray();
        rest.ShouldContain(e => e!["action"]!.ToString() == "token.create");
        rest.ShouldContain(e => e!["action"]!.ToString() == "cloud.rematch" && e["details"]!.ToString().Contains("\"Status\":\"ok\""));
        rest.ShouldNotContain(e => e!["resourceId"]!.ToString() == mci);
    }
}

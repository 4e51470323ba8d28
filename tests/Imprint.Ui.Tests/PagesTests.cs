using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Imprint.Core.Catalog;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Ui.Tests;

/// <summary>Fast server-side tests: each page's HTML from the real application, signed in with a session cookie.</summary>
public sealed class PagesTests(UiServer server) : IClassFixture<UiServer>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("/ui/server-templates")]
    [InlineData("/ui/server-templates/st_x")]
    [InlineData("/ui/multi-cloud-images/mci_x")]
    [InlineData("/ui/multi-cloud-images/mci_x/image-map")]
    [InlineData("/ui/clouds")]
    [InlineData("/ui/clouds/cld_x")]
    [InlineData("/ui/marketplace")]
    public async Task SignedOut_UiPage_RedirectsToLogin(string path)
    {
        using var client = server.NewClient();
        var response = await client.GetAsync(path, Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        response.Headers.Location!.OriginalString.ShouldStartWith("http");
        response.Headers.Location.AbsolutePath.ShouldBe("/ui/login");
        response.Headers.Location.Query.ShouldContain(Uri.EscapeDataString(path));
    }

    [Fact]
    public async Task Login_SetsHttpOnlySameSiteStrictSessionCookie_AndSignOutEndsIt()
    {
        using var client = server.NewClient();
        var response = await UiServer.PostFormAsync(client, "/ui/login", new() { ["token"] = server.AdminToken });
        response.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        response.Headers.Location!.OriginalString.ShouldBe("/ui/server-templates");
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("imprint.session=", StringComparison.Ordinal));
        cookie.ShouldContain("httponly");
        cookie.ShouldContain("samesite=strict");
        cookie.ShouldContain("path=/ui");
        (await client.GetAsync("/ui/server-templates", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);

        var signOut = await UiServer.PostFormAsync(client, "/ui/logout", [], formPage: "/ui/server-templates");
        signOut.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        (await client.GetAsync("/ui/server-templates", Ct)).StatusCode.ShouldBe(HttpStatusCode.Redirect);
    }

    [Fact]
    public async Task Login_UnknownToken_SaysSoBesideTheField()
    {
        using var client = server.NewClient();
        var response = await UiServer.PostFormAsync(client, "/ui/login", new() { ["token"] = "imp_not-a-token" });
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var html = await response.Content.ReadAsStringAsync(Ct);
        html.ShouldContain("id=\"token-error\"");
        html.ShouldContain("unknown, revoked or expired");
        response.Headers.TryGetValues("Set-Cookie", out var cookies);
        (cookies ?? []).ShouldNotContain(c => c.StartsWith("imprint.session=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Api_WithSessionCookieOnly_Is401ProblemDetails_AndBearerStillWorks()
    {
        using var client = await server.SignedInClientAsync();
        var cookieOnly = await client.GetAsync("/api/server-templates", Ct);
        cookieOnly.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        cookieOnly.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/server-templates");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminToken);
        (await client.SendAsync(request, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Post_WithoutAntiforgeryToken_Is400()
    {
        using var client = await server.SignedInClientAsync();
        var mci = await server.MciIdAsync("AlmaLinux 9");
        foreach (var path in new[] { "/ui/logout", $"/ui/multi-cloud-images/{mci}/image-map?handler=Rematch", "/ui/clouds?handler=Register" })
        {
            var response = await client.PostAsync(path, new FormUrlEncodedContent(new Dictionary<string, string> { ["name"] = "x" }), Ct);
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, path);
            (await response.Content.ReadAsStringAsync(Ct)).ShouldContain("anti-forgery");
        }
        (await client.GetAsync("/ui/server-templates", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK, "the refused sign-out did not sign out");
    }

    [Fact]
    public async Task ServerTemplates_ListsHeadAndCommitted_AndSearches()
    {
        using var api = ApiClient();
        var templateId = await server.TemplateIdAsync("Database server");
        (await api.PostAsync($"/api/server-templates/{templateId}/commit", JsonContent.Create(new { message = "first" }), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        using var client = await server.SignedInClientAsync();

        var all = await client.GetStringAsync("/ui/server-templates", Ct);
        all.ShouldContain("Web server");
        all.ShouldContain("Database server");
        all.ShouldContain("HEAD");
        all.ShouldContain("revision 1");
        all.ShouldContain("committed, frozen");

        var search = await client.GetStringAsync("/ui/server-templates?q=web", Ct);
        search.ShouldContain("Web server");
        search.ShouldNotContain(">Database server<");

        var committed = await client.GetStringAsync("/ui/server-templates?revisions=committed", Ct);
        committed.ShouldContain(">Database server<");
        committed.ShouldNotContain(">Web server<");
        committed.ShouldNotContain("badge head");

        var detail = await client.GetStringAsync($"/ui/server-templates/{templateId}", Ct);
        detail.ShouldContain("HEAD — editable");
        detail.ShouldContain(">revision 1</a>");
    }

    [Fact]
    public async Task ServerTemplate_ImagesTab_MarksDefault_MakesDefault_AndSaysWhereItCanLaunch()
    {
        using var api = ApiClient();
        var web = await server.TemplateIdAsync("Web server");
        var clone = await (await api.PostAsync($"/api/server-templates/{web}/clone", JsonContent.Create(new { name = "Web clone for default" }), Ct))
            .Content.ReadFromJsonAsync<IdOnly>(Ct);
        using var client = await server.SignedInClientAsync();
        var html = await client.GetStringAsync($"/ui/server-templates/{clone!.Id}", Ct);
        html.ShouldContain("Ubuntu 24.04");
        html.ShouldContain("Debian 12");
        html.ShouldContain("★</span> Default");
        html.ShouldContain("Where it can launch");
        html.ShouldContain("lab-kvm");
        html.ShouldContain("> yes</span>");

        var debian = await server.MciIdAsync("Debian 12");
        var made = await UiServer.PostFormAsync(client, $"/ui/server-templates/{clone.Id}?handler=MakeDefault", new() { ["mciId"] = debian });
        made.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var after = await client.GetStringAsync(made.Headers.Location!.OriginalString, Ct);
        after.ShouldContain("Debian 12 is now the default MultiCloud Image.");
        var links = await server.WithDbAsync(db => db.ServerTemplateMcis.Where(l => l.ServerTemplateId == clone.Id).ToListAsync());
        links.Single(l => l.IsDefault).MciId.ShouldBe(debian);
    }

    [Fact]
    public async Task Mci_CloudsTab_ShowsSettingsAndFullDigestsWithAlgorithm_AndLinksTheImageMap()
    {
        using var client = await server.SignedInClientAsync();
        var mci = await server.MciIdAsync("Ubuntu 24.04");
        var matcher = await server.WithDbAsync(db => db.Matchers.FirstAsync(m => m.MciId == mci));
        var html = await client.GetStringAsync($"/ui/multi-cloud-images/{mci}", Ct);
        foreach (var digest in matcher.Fingerprint.Split(' '))
        {
            html.ShouldContain($"<code class=\"digest\" data-copy=\"{digest}\">{digest}</code>");
            html.ShouldContain($"<span class=\"alg\">{digest[..digest.LastIndexOf(':')]}</span>");
        }
        // The demo's matchers carry the virtual size of the image they were made from, shown for people and exactly.
        matcher.VirtualSize.ShouldBe(3 * 1024 * 1024 + 4096);
        html.ShouldContain("<dt>Virtual size</dt><dd>3 MiB (3149824 bytes)</dd>");
        html.ShouldContain("ami-0b8c2d9e0f1a2b3c4");
        html.ShouldContain("t3.small");
        html.ShouldContain("by hand (pins the image)");
        html.ShouldContain("generated by matcher");
        html.ShouldContain($"href=\"/ui/multi-cloud-images/{mci}/image-map\"");
        html.ShouldContain("<svg class=\"icon\" aria-hidden=\"true\"");
    }

    [Fact]
    public async Task ImageMap_ShowsEachStatusInWords_LinksImages_AndSaysWhatToUploadAndWhomToAsk()
    {
        using var client = await server.SignedInClientAsync();
        var ubuntu = await client.GetStringAsync($"/ui/multi-cloud-images/{await server.MciIdAsync("Ubuntu 24.04")}/image-map", Ct);
        ubuntu.ShouldContain("data-cloud=\"lab-kvm\" data-status=\"ambiguous\"");
        ubuntu.ShouldContain("Candidates");
        ubuntu.ShouldContain("<strong>— chosen</strong>");
        ubuntu.ShouldContain("<dt>Rule</dt>");
        ubuntu.ShouldContain("data-cloud=\"branch-office\" data-status=\"matched\"");
        ubuntu.ShouldContain("class=\"image-link\"");

        var debian = await client.GetStringAsync($"/ui/multi-cloud-images/{await server.MciIdAsync("Debian 12")}/image-map", Ct);
        debian.ShouldContain("data-cloud=\"branch-office\" data-status=\"suspect\"");
        debian.ShouldContain("suspect</span>");

        var alma = await client.GetStringAsync($"/ui/multi-cloud-images/{await server.MciIdAsync("AlmaLinux 9")}/image-map", Ct);
        alma.ShouldContain("data-cloud=\"branch-office\" data-status=\"no-match\"");
        alma.ShouldContain("What to upload");
        alma.ShouldContain("href=\"mailto:branch-it@example.com?subject=");
        alma.ShouldContain("<span class=\"alg\">disk-sha256</span>");
        alma.ShouldContain("<p class=\"virtual-size\">Its virtual disk size: ");
        alma.ShouldContain("Its%20virtual%20disk%20size%20is%20");
        alma.ShouldContain("<button type=\"submit\" id=\"rematch\">Rematch</button>");
    }

    [Fact]
    public async Task ImageMap_UnreachableCloud_IsStaleWithTheErrorAndWhenLastReached()
    {
        var folder = Directory.CreateDirectory(Path.Combine(server.DataDirectory, "stale-cloud")).FullName;
        File.Copy(Path.Combine(server.DataDirectory, "demo", "lab-kvm", "almalinux-9.raw"), Path.Combine(folder, "almalinux-9.raw"));
        var cloudId = await RegisterFolderCloudAsync("stale-cloud", folder);
        using var api = ApiClient();
        (await api.PostAsync($"/api/clouds/{cloudId}/rematch", null, Ct)).EnsureSuccessStatusCode();
        Directory.Delete(folder, recursive: true);
        (await api.PostAsync($"/api/clouds/{cloudId}/rematch", null, Ct)).EnsureSuccessStatusCode();

        using var client = await server.SignedInClientAsync();
        var html = await client.GetStringAsync($"/ui/multi-cloud-images/{await server.MciIdAsync("AlmaLinux 9")}/image-map", Ct);
        html.ShouldContain("data-cloud=\"stale-cloud\" data-status=\"stale\"");
        html.ShouldContain($"folder {folder} does not exist or is not a directory");
        html.ShouldContain("<dt>Last reached</dt>");
    }

    [Fact]
    public async Task ImageMap_Rematch_ShowsTheReport_WithCreatedSettings()
    {
        var folder = Directory.CreateDirectory(Path.Combine(server.DataDirectory, "rematch-cloud")).FullName;
        var cloudId = await RegisterFolderCloudAsync("rematch-cloud", folder);
        File.Copy(Path.Combine(server.DataDirectory, "demo", "lab-kvm", "almalinux-9.raw"), Path.Combine(folder, "alma.raw"));
        using var client = await server.SignedInClientAsync();
        var mci = await server.MciIdAsync("AlmaLinux 9");
        var response = await UiServer.PostFormAsync(client, $"/ui/multi-cloud-images/{mci}/image-map?handler=Rematch", []);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var html = await response.Content.ReadAsStringAsync(Ct);
        html.ShouldContain("Rematch report");
        html.ShouldContain("rematch-cloud:");
        html.ShouldContain("Created setting");
        html.ShouldContain("image <code>alma.raw</code>");
        html.ShouldContain("data-cloud=\"rematch-cloud\" data-status=\"matched\"");
        (await server.WithDbAsync(db => db.Settings.AnyAsync(s => s.CloudId == cloudId && s.MciId == mci && s.ImageUid == "alma.raw"))).ShouldBeTrue();
    }

    [Fact]
    public async Task Clouds_Register_InvalidInput_ShowsMessagesBesideFields_AndKeepsWhatWasTyped()
    {
        using var client = await server.SignedInClientAsync();
        var response = await UiServer.PostFormAsync(client, "/ui/clouds?handler=Register", new()
        {
            ["name"] = "", ["kind"] = "folder", ["endpoint"] = "relative/path", ["region"] = "typed-region", ["adminContact"] = "ops@example.com",
            ["credentials"] = "secret-never-echoed", ["syncMinutes"] = "soon",
        });
        response.StatusCode.ShouldBe(HttpStatusCode.UnprocessableEntity);
        var html = await response.Content.ReadAsStringAsync(Ct);
        html.ShouldContain("id=\"name-error\"");
        html.ShouldContain("id=\"syncMinutes-error\"");
        html.ShouldContain("value=\"relative/path\"");
        html.ShouldContain("value=\"typed-region\"");
        html.ShouldContain("value=\"ops@example.com\"");
        html.ShouldContain("value=\"soon\"");
        html.ShouldNotContain("secret-never-echoed");

        var apiErrors = await UiServer.PostFormAsync(client, "/ui/clouds?handler=Register", new() { ["name"] = "bad-folder", ["kind"] = "folder", ["endpoint"] = "relative/path" });
        var apiHtml = await apiErrors.Content.ReadAsStringAsync(Ct);
        apiHtml.ShouldContain("id=\"endpoint-error\" class=\"error\">A folder cloud&#x27;s endpoint is an absolute directory path.");
        apiHtml.ShouldContain("value=\"bad-folder\"");

        var taken = await UiServer.PostFormAsync(client, "/ui/clouds?handler=Register", new() { ["name"] = "lab-kvm", ["kind"] = "folder", ["endpoint"] = "/tmp" });
        (await taken.Content.ReadAsStringAsync(Ct)).ShouldContain("id=\"name-error\" class=\"error\">A cloud named &#x27;lab-kvm&#x27; already exists.");
    }

    [Fact]
    public async Task Clouds_Register_Valid_RedirectsToTheCloud()
    {
        using var client = await server.SignedInClientAsync();
        var response = await UiServer.PostFormAsync(client, "/ui/clouds?handler=Register", new()
        {
            ["name"] = "registered-from-ui", ["kind"] = "openstack", ["endpoint"] = "https://glance.example.com:9292", ["isPublic"] = "true", ["syncMinutes"] = "30",
        });
        response.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var html = await client.GetStringAsync(response.Headers.Location!.OriginalString, Ct);
        html.ShouldContain("Registered cloud registered-from-ui.");
        html.ShouldContain("openstack (public)");
        var cloud = await server.WithDbAsync(db => db.Clouds.SingleAsync(c => c.Name == "registered-from-ui"));
        cloud.SyncInterval.ShouldBe(TimeSpan.FromMinutes(30));
        (await client.GetStringAsync("/ui/clouds", Ct)).ShouldContain("registered-from-ui");
    }

    [Fact]
    public async Task Cloud_Inventory_IsPaged_AndFiltersByNameAndDigest()
    {
        var folder = Directory.CreateDirectory(Path.Combine(server.DataDirectory, "many-images")).FullName;
        for (var i = 0; i < 30; i++)
            await File.WriteAllBytesAsync(Path.Combine(folder, $"img-{i:00}.raw"), Enumerable.Repeat((byte)i, 4096).ToArray(), Ct);
        var cloudId = await RegisterFolderCloudAsync("many-images", folder);
        using var api = ApiClient();
        (await api.PostAsync($"/api/clouds/{cloudId}/rematch", null, Ct)).EnsureSuccessStatusCode();
        using var client = await server.SignedInClientAsync();

        var first = await client.GetStringAsync($"/ui/clouds/{cloudId}", Ct);
        first.ShouldContain("30 images as of the last good sync");
        first.ShouldContain(">img-00.raw<");
        first.ShouldContain(">img-24.raw<");
        first.ShouldNotContain(">img-25.raw<");
        var next = System.Text.RegularExpressions.Regex.Match(first, "href=\"([^\"]+)\" rel=\"next\"").Groups[1].Value;
        var second = await client.GetStringAsync(System.Net.WebUtility.HtmlDecode(next), Ct);
        second.ShouldContain(">img-29.raw<");
        second.ShouldNotContain(">img-00.raw<");

        (await client.GetStringAsync($"/ui/clouds/{cloudId}?name=IMG-07", Ct)).ShouldContain(">img-07.raw<");
        var digest = await server.WithDbAsync(db => db.Images.Where(i => i.CloudId == cloudId && i.Uid == "img-11.raw").Select(i => i.Digests).SingleAsync());
        var sha = digest.Split(' ').First(d => d.StartsWith("sha256:", StringComparison.Ordinal));
        var byDigest = await client.GetStringAsync($"/ui/clouds/{cloudId}?digest={Uri.EscapeDataString(sha)}", Ct);
        byDigest.ShouldContain(">img-11.raw<");
        byDigest.ShouldNotContain(">img-12.raw<");
        (await client.GetStringAsync($"/ui/clouds/{cloudId}?digest=sha256:xyz", Ct)).ShouldContain("id=\"digest-error\"");
    }

    [Fact]
    public async Task UntrustedText_IsNeverRenderedUnescaped()
    {
        const string Script = "<script>alert(1)</script>";
        var cloudId = await server.WithDbAsync(async db =>
        {
            var account = await db.Accounts.OrderBy(a => a.CreatedAt).FirstAsync();
            var time = TimeProvider.System;
            var cloud = new Cloud
            {
                Id = Storage.Ids.New("cld", time), AccountId = account.Id, Name = "xss " + Script, Kind = CloudKinds.Ec2,
                Endpoint = "https://ec2.example.com", AdminContact = Script, LastSyncError = "refused: " + Script, CreatedAt = time.GetUtcNow(),
            };
            db.Clouds.Add(cloud);
            db.Images.Add(new Image
            {
                AccountId = account.Id, CloudId = cloud.Id, Uid = "ami-" + Script, Name = Script, Properties = $"{{\"{Script}\":\"{Script}\"}}".Replace("/", "\\/", StringComparison.Ordinal),
                Href = "javascript:alert(1)", ConsoleUrl = "javascript:alert(2)",
            });
            await db.SaveChangesAsync();
            return cloud.Id;
        });
        using var client = await server.SignedInClientAsync();
        foreach (var path in new[] { $"/ui/clouds/{cloudId}", "/ui/clouds", $"/ui/server-templates/{await server.TemplateIdAsync("Web server")}?tab=launch" })
        {
            var html = await client.GetStringAsync(path, Ct);
            html.ShouldNotContain(Script, customMessage: path);
            html.ShouldNotContain("javascript:", customMessage: path);
        }
        (await client.GetStringAsync($"/ui/clouds/{cloudId}", Ct)).ShouldContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    }

    [Fact]
    public async Task AnotherAccountsIds_Are404Pages()
    {
        var other = await server.NewAccountTokenAsync("other-" + Guid.NewGuid().ToString("N")[..8]);
        using var client = await server.SignedInClientAsync(other);
        var mci = await server.MciIdAsync("AlmaLinux 9");
        foreach (var path in new[]
        {
            $"/ui/server-templates/{await server.TemplateIdAsync("Web server")}", $"/ui/multi-cloud-images/{mci}",
            $"/ui/multi-cloud-images/{mci}/image-map", $"/ui/clouds/{await server.CloudIdAsync("lab-kvm")}",
        })
        {
            var response = await client.GetAsync(path, Ct);
            response.StatusCode.ShouldBe(HttpStatusCode.NotFound, path);
            response.Content.Headers.ContentType!.MediaType.ShouldBe("text/html");
            (await response.Content.ReadAsStringAsync(Ct)).ShouldContain("<h1>Not found</h1>");
        }
        (await client.GetStringAsync("/ui/server-templates", Ct)).ShouldNotContain("Web server");
        var posted = await UiServer.PostFormAsync(client, $"/ui/multi-cloud-images/{mci}/image-map?handler=Rematch", [], formPage: "/ui/clouds");
        posted.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Launch_OffersOnlyResolvingClouds_ExplainsTheOthers_AndLaunches()
    {
        using var client = await server.SignedInClientAsync();
        var template = await server.TemplateIdAsync("Database server");
        var html = await client.GetStringAsync($"/ui/server-templates/{template}?tab=launch", Ct);
        var lab = await server.CloudIdAsync("lab-kvm");
        var aws = await server.CloudIdAsync("aws-us-east-1");
        html.ShouldContain($"<option value=\"{lab}\"");
        html.ShouldNotContain($"<option value=\"{aws}\"");
        html.ShouldContain("Clouds not offered");
        html.ShouldContain("none of its MultiCloud Images has a setting for aws-us-east-1 or a matcher for ec2 clouds");

        var launched = await UiServer.PostFormAsync(client, $"/ui/server-templates/{template}?handler=Launch", new() { ["name"] = "db-1", ["cloudId"] = lab });
        var launchedHtml = await launched.Content.ReadAsStringAsync(Ct);
        launchedHtml.ShouldContain("Launched server <strong>db-1</strong>");
        launchedHtml.ShouldContain("almalinux-9.raw");
        (await server.WithDbAsync(db => db.Servers.AnyAsync(s => s.Name == "db-1" && s.CloudId == lab))).ShouldBeTrue();

        // A crafted POST for a cloud that is not offered is refused with the reason, and nothing is launched.
        var refused = await UiServer.PostFormAsync(client, $"/ui/server-templates/{template}?handler=Launch", new() { ["name"] = "db-2", ["cloudId"] = aws });
        var refusedHtml = await refused.Content.ReadAsStringAsync(Ct);
        refusedHtml.ShouldContain("cannot launch in aws-us-east-1");
        refusedHtml.ShouldContain("value=\"db-2\"");
        (await server.WithDbAsync(db => db.Servers.AnyAsync(s => s.Name == "db-2"))).ShouldBeFalse();

        var missingName = await UiServer.PostFormAsync(client, $"/ui/server-templates/{template}?handler=Launch", new() { ["name"] = "", ["cloudId"] = lab });
        (await missingName.Content.ReadAsStringAsync(Ct)).ShouldContain("id=\"name-error\" class=\"error\">Is required.");
    }

    [Fact]
    public async Task Viewer_IsOfferedNoActions_AndAPostIsA403Page_WhileTheApiAnswers403ProblemDetails()
    {
        var viewer = await server.NewTokenAsync(Roles.Viewer);
        using var client = await server.SignedInClientAsync(viewer);
        var mci = await server.MciIdAsync("AlmaLinux 9");
        var map = await client.GetStringAsync($"/ui/multi-cloud-images/{mci}/image-map", Ct);
        map.ShouldNotContain("id=\"rematch\"");
        map.ShouldContain("cannot rematch clouds");
        (await client.GetStringAsync("/ui/clouds", Ct)).ShouldNotContain("Register a cloud");

        var posted = await UiServer.PostFormAsync(client, $"/ui/multi-cloud-images/{mci}/image-map?handler=Rematch", []);
        posted.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await posted.Content.ReadAsStringAsync(Ct)).ShouldContain("<h1>Not allowed</h1>");

        using var api = new HttpClient { BaseAddress = server.BaseAddress };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", viewer);
        var forbidden = await api.PostAsync("/api/clouds", JsonContent.Create(new { name = "x", kind = "folder", endpoint = "/tmp" }), Ct);
        forbidden.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        forbidden.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
    }

    [Fact]
    public async Task Marketplace_SaysNothingIsPublishedYet()
    {
        using var client = await server.SignedInClientAsync();
        (await client.GetStringAsync("/ui/marketplace", Ct)).ShouldContain("Nothing is published yet");
    }

    [Fact]
    public async Task Stylesheet_IsServedFromTheExecutable()
    {
        using var client = server.NewClient();
        var response = await client.GetAsync("/ui/static/imprint.css", Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/css");
        (await response.Content.ReadAsStringAsync(Ct)).ShouldContain(".status-ok");
    }

    private HttpClient ApiClient()
    {
        var client = new HttpClient { BaseAddress = server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminToken);
        return client;
    }

    private async Task<string> RegisterFolderCloudAsync(string name, string folder)
    {
        using var api = ApiClient();
        var response = await api.PostAsync("/api/clouds", JsonContent.Create(new { name, kind = "folder", endpoint = folder, adminContact = "ops@example.com" }), Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<IdOnly>(Ct))!.Id;
    }

    private sealed record IdOnly(string Id);
}

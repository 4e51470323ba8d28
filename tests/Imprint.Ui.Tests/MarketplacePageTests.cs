using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Imprint.Ui.Tests;

/// <summary>The Marketplace page: another account's publication is listed, imported with a form POST, then shown as imported.</summary>
public sealed class MarketplacePageTests(UiServer server) : IClassFixture<UiServer>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Marketplace_ListsOtherAccountsPublication_ImportRedirectsToTheCopy_ThenShowsImported()
    {
        using var publisher = new HttpClient { BaseAddress = server.BaseAddress };
        publisher.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await server.NewAccountTokenAsync("acme-publishing"));
        var mci = await PostAsync(publisher, "/api/multi-cloud-images", new { name = "acme-base" });
        var template = await PostAsync(publisher, "/api/server-templates", new { name = "Acme web server" });
        await PostAsync(publisher, $"/api/server-templates/{template}/multi-cloud-images", new { mciId = mci });
        await PostAsync(publisher, $"/api/server-templates/{template}/commit", new { message = "v1" });
        await PostAsync(publisher, $"/api/server-templates/{template}/publish", new { revision = 1, description = "Acme's hardened web server" });

        using var viewer = await server.SignedInClientAsync(await server.NewTokenAsync("viewer"));
        var viewerPage = await viewer.GetStringAsync("/ui/marketplace", Ct);
        viewerPage.ShouldContain("Acme web server");
        viewerPage.ShouldNotContain(">Import</button>");

        using var client = await server.SignedInClientAsync();
        var page = await client.GetStringAsync("/ui/marketplace", Ct);
        page.ShouldContain("Acme web server");
        page.ShouldContain("acme-publishing");
        page.ShouldContain("Acme&#x27;s hardened web server");
        page.ShouldContain(">Import</button>");
        var pubId = System.Text.RegularExpressions.Regex.Match(page, "id=(pub_[0-9a-f]+)").Groups[1].Value;
        pubId.ShouldNotBeEmpty();

        var import = await UiServer.PostFormAsync(client, $"/ui/marketplace?handler=Import&id={pubId}", [], formPage: "/ui/marketplace");

        import.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var location = import.Headers.Location!.OriginalString;
        location.ShouldStartWith("/ui/server-templates/st_");
        (await client.GetStringAsync(location, Ct)).ShouldContain("Acme web server");
        var after = await client.GetStringAsync("/ui/marketplace", Ct);
        after.ShouldContain($"href=\"{location}\"");
        after.ShouldNotContain(">Import</button>");
    }

    private static async Task<string> PostAsync(HttpClient api, string path, object body)
    {
        using var response = await api.PostAsync(path, JsonContent.Create(body), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, text);
        return JsonNode.Parse(text)!["id"]?.ToString() ?? "";
    }
}

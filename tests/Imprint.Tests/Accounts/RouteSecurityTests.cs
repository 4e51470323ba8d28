using System.Text.RegularExpressions;
using Imprint.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Imprint.Tests.Accounts;

/// <summary>
/// Every API route, as the server's endpoint data source lists it, refuses a request without token (401), a role that
/// API.md does not allow (403) and another account's ids (404). A route that is not in <see cref="Expected"/> fails the
/// test: whoever adds one must say here which roles may call it.
/// </summary>
public sealed partial class RouteSecurityTests(ImprintServer server) : IClassFixture<ImprintServer>
{
    private static readonly string[] Read = ["viewer", "designer", "cloud-admin", "publisher", "admin"];
    private static readonly string[] Design = ["designer", "publisher", "admin"];
    private static readonly string[] Clouds = ["cloud-admin", "admin"];
    private static readonly string[] Launch = ["designer", "cloud-admin", "publisher", "admin"];
    private static readonly string[] Publish = ["publisher", "admin"];
    private static readonly string[] Admin = ["admin"];
    /// <summary>Only the installation admin: an account's own admin is refused too.</summary>
    private static readonly string[] Installation = [];

    /// <summary>The roles table of API.md, route by route. <c>Public</c>: the id names something every account may use.</summary>
    private static readonly Dictionary<string, (string[] Roles, bool Public)> Expected = new(StringComparer.Ordinal)
    {
        ["GET /api/clouds"] = (Read, false),
        ["POST /api/clouds"] = (Clouds, false),
        ["GET /api/clouds/{id}"] = (Read, false),
        ["PATCH /api/clouds/{id}"] = (Clouds, false),
        ["DELETE /api/clouds/{id}"] = (Clouds, false),
        ["POST /api/clouds/{id}/rematch"] = (Clouds, false),
        ["GET /api/clouds/{id}/images"] = (Read, false),
        ["POST /api/clouds/{id}/images"] = (Clouds, false),
        ["GET /api/multi-cloud-images"] = (Read, false),
        ["POST /api/multi-cloud-images"] = (Design, false),
        ["GET /api/multi-cloud-images/{id}"] = (Read, false),
        ["PATCH /api/multi-cloud-images/{id}"] = (Design, false),
        ["DELETE /api/multi-cloud-images/{id}"] = (Design, false),
        ["POST /api/multi-cloud-images/{id}/commit"] = (Design, false),
        ["POST /api/multi-cloud-images/{id}/clone"] = (Design, false),
        ["GET /api/multi-cloud-images/{id}/settings"] = (Read, false),
        ["POST /api/multi-cloud-images/{id}/settings"] = (Design, false),
        ["GET /api/multi-cloud-images/{id}/settings/{sid}"] = (Read, false),
        ["PATCH /api/multi-cloud-images/{id}/settings/{sid}"] = (Design, false),
        ["DELETE /api/multi-cloud-images/{id}/settings/{sid}"] = (Design, false),
        ["GET /api/multi-cloud-images/{id}/matchers"] = (Read, false),
        ["POST /api/multi-cloud-images/{id}/matchers"] = (Design, false),
        ["GET /api/multi-cloud-images/{id}/matchers/{mid}"] = (Read, false),
        ["DELETE /api/multi-cloud-images/{id}/matchers/{mid}"] = (Design, false),
        ["POST /api/multi-cloud-images/{id}/matchers/{mid}/rematch"] = (Clouds, false),
        ["GET /api/multi-cloud-images/{id}/image-map"] = (Read, false),
        ["POST /api/multi-cloud-images/{id}/rematch"] = (Clouds, false),
        ["GET /api/server-templates"] = (Read, false),
        ["POST /api/server-templates"] = (Design, false),
        ["GET /api/server-templates/{id}"] = (Read, false),
        ["PATCH /api/server-templates/{id}"] = (Design, false),
        ["DELETE /api/server-templates/{id}"] = (Design, false),
        ["POST /api/server-templates/{id}/commit"] = (Design, false),
        ["POST /api/server-templates/{id}/clone"] = (Design, false),
        ["GET /api/server-templates/{id}/multi-cloud-images"] = (Read, false),
        ["POST /api/server-templates/{id}/multi-cloud-images"] = (Design, false),
        ["DELETE /api/server-templates/{id}/multi-cloud-images/{mciId}"] = (Design, false),
        ["POST /api/server-templates/{id}/multi-cloud-images/{mciId}/make-default"] = (Design, false),
        ["GET /api/server-templates/{id}/image-map"] = (Read, false),
        ["POST /api/server-templates/{id}/publish"] = (Publish, false),
        ["GET /api/servers"] = (Read, false),
        ["POST /api/servers"] = (Launch, false),
        ["GET /api/servers/{id}"] = (Read, false),
        ["GET /api/audit"] = (Admin, false),
        ["GET /api/accounts"] = (Installation, false),
        ["POST /api/accounts"] = (Installation, false),
        ["GET /api/accounts/{id}"] = (Admin, false),
        ["POST /api/accounts/{id}/tokens"] = (Admin, false),
        ["GET /api/tokens"] = (Admin, false),
        ["GET /api/tokens/{id}"] = (Admin, false),
        ["DELETE /api/tokens/{id}"] = (Admin, false),
        ["GET /api/publications"] = (Read, true),
        ["GET /api/publications/{id}"] = (Read, true),
        ["POST /api/publications/{id}/import"] = (Design, true),
        ["DELETE /api/publications/{id}"] = (Publish, false),
    };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Every API route of the running server as "METHOD /pattern".</summary>
    private List<string> Routes() =>
        server.App.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["ANY"])
                .Select(m => $"{m} {e.RoutePattern.RawText!.TrimEnd('/')}"))
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();

    [Fact]
    public void EveryRoute_IsInTheRolesTable()
    {
        var routes = Routes();

        routes.Except(Expected.Keys).ShouldBeEmpty("a route without an entry in the roles table: add it to RouteSecurityTests.Expected");
        Expected.Keys.Except(routes).ShouldBeEmpty("the roles table names a route that does not exist");
    }

    [Fact]
    public async Task EveryRoute_NoToken_401()
    {
        var ids = await OtherAccountResourcesAsync();
        using var anonymous = server.Client();
        anonymous.Http.DefaultRequestHeaders.Authorization = null;

        foreach (var route in Routes())
        {
            var reply = await SendAsync(anonymous, route, ids);
            reply.Status.ShouldBe(401, $"{route}: {reply.Text}");
            reply.MediaType.ShouldBe("application/problem+json", route);
        }
    }

    [Fact]
    public async Task EveryRoute_RoleNotAllowed_403()
    {
        var account = await server.CreateAccountWithRolesAsync();
        var ids = await OtherAccountResourcesAsync(account);
        var checkedCount = 0;

        foreach (var route in Routes())
        {
            var allowed = Expected[route].Roles;
            foreach (var role in account.Tokens.Keys.Except(allowed))
            {
                using var api = account.As(role);
                var reply = await SendAsync(api, route, ids);
                reply.Status.ShouldBe(403, $"{route} as {role}: {reply.Text}");
                reply.MediaType.ShouldBe("application/problem+json", route);
                checkedCount++;
            }
        }
        checkedCount.ShouldBeGreaterThan(90);
    }

    [Fact]
    public async Task EveryRouteWithIds_AnotherAccountsIds_404()
    {
        var ids = await OtherAccountResourcesAsync();
        var intruder = await server.CreateAccountWithRolesAsync();
        var checkedCount = 0;

        foreach (var route in Routes().Where(r => r.Contains('{', StringComparison.Ordinal) && !Expected[r].Public))
        {
            // The intruder's strongest role that the route allows: the refusal must come from the account, not the role.
            var role = Expected[route].Roles.LastOrDefault() ?? "admin";
            using var api = intruder.As(role);
            var reply = await SendAsync(api, route, ids, ValidBody(route, intruder));
            reply.Status.ShouldBe(404, $"{route} as {role} of another account: {reply.Text}");
            checkedCount++;
        }
        checkedCount.ShouldBeGreaterThan(30);
        // Nothing of the victim's changed: its MCI still has its matcher, its cloud still exists.
        using var owner = server.Client(ids["ownerToken"]);
        (await owner.GetAsync($"/api/multi-cloud-images/{ids["mci"]}/matchers/{ids["matcher"]}")).ShouldHaveStatus(200);
        (await owner.GetAsync($"/api/clouds/{ids["cloud"]}")).ShouldHaveStatus(200);
        (await owner.GetAsync($"/api/tokens/{ids["token"]}")).Body["revokedAt"].ShouldBeNull();
    }

    /// <summary>A body that would pass validation, so that a 404 is not a 400 in disguise.</summary>
    private static object? ValidBody(string route, TestAccount intruder) => route switch
    {
        _ when route.EndsWith("/settings", StringComparison.Ordinal) => new { cloudId = "cl_x", imageUid = "x.raw" },
        _ when route.EndsWith("/matchers", StringComparison.Ordinal) => new { cloudKind = "folder", fingerprint = new[] { "md5:" + new string('0', 32) } },
        _ when route.EndsWith("/tokens", StringComparison.Ordinal) => new { name = "t", role = "viewer" },
        _ when route.EndsWith("/publish", StringComparison.Ordinal) => new { revision = 1 },
        _ when route.StartsWith("PATCH /api/multi-cloud-images/{id}/settings", StringComparison.Ordinal) => new { imageUid = "y.raw" },
        _ when route.StartsWith("PATCH", StringComparison.Ordinal) => new { name = "renamed-by-intruder" },
        _ when route.EndsWith("/clone", StringComparison.Ordinal) => new { name = "stolen" },
        _ when route.EndsWith("/multi-cloud-images", StringComparison.Ordinal) => new { mciId = intruder.Id },
        _ when route.StartsWith("POST", StringComparison.Ordinal) => new { },
        _ => null,
    };

    private static Task<Reply> SendAsync(ApiClient api, string route, IReadOnlyDictionary<string, string> ids, object? body = null)
    {
        var space = route.IndexOf(' ', StringComparison.Ordinal);
        var method = route[..space];
        var path = RouteParameter().Replace(route[(space + 1)..], m => ids[ParameterKey(route, m.Groups[1].Value)]);
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PATCH")
            request.Content = System.Net.Http.Json.JsonContent.Create(body ?? new { });
        return api.SendAsync(request);
    }

    /// <summary>Which of the victim's resources a route parameter names.</summary>
    private static string ParameterKey(string route, string parameter) => parameter switch
    {
        "sid" => "setting",
        "mid" => "matcher",
        "mciId" => "mci",
        _ when route.Contains("/api/clouds/", StringComparison.Ordinal) => "cloud",
        _ when route.Contains("/api/multi-cloud-images/", StringComparison.Ordinal) => "mci",
        _ when route.Contains("/api/server-templates/", StringComparison.Ordinal) => "template",
        _ when route.Contains("/api/servers/", StringComparison.Ordinal) => "server",
        _ when route.Contains("/api/publications/", StringComparison.Ordinal) => "publication",
        _ when route.Contains("/api/tokens/", StringComparison.Ordinal) => "token",
        _ when route.Contains("/api/accounts/", StringComparison.Ordinal) => "account",
        _ => throw new InvalidOperationException($"{route}: which resource is {{{parameter}}}? Add it to ParameterKey."),
    };

    /// <summary>One of each resource in an account of its own: a cloud with an image, an MCI with a setting and a matcher, a template, a server, a publication.</summary>
    private async Task<Dictionary<string, string>> OtherAccountResourcesAsync(TestAccount? existing = null)
    {
        var account = existing ?? await server.CreateAccountWithRolesAsync();
        using var api = account.As("admin");
        var folder = TestImages.NewFolder();
        var image = TestImages.Write(folder, "victim.raw", seed: 77);
        var cloud = await api.CreateFolderCloudAsync(folder);
        var mci = await api.CreateMciAsync();
        var matcher = await api.AddMatcherAsync(mci, TestImages.FileDigests(image));
        var setting = (await api.PostAsync($"/api/multi-cloud-images/{mci}/settings", new { cloudId = cloud, imageUid = "victim.raw" })).ShouldHaveStatus(201)["id"];
        var template = await api.CreateTemplateAsync(mci);
        await api.RematchAsync(cloud);
        var server1 = (await api.PostAsync("/api/servers", new { name = "victim-1", serverTemplateId = template, cloudId = cloud })).ShouldHaveStatus(201)["id"];
        (await api.PostAsync($"/api/server-templates/{template}/commit", new { message = "v1" })).ShouldHaveStatus(201);
        var publication = (await api.PostAsync($"/api/server-templates/{template}/publish", new { revision = 1 })).ShouldHaveStatus(201)["id"];
        var tokens = (await api.GetAsync("/api/tokens")).ShouldHaveStatus(200).Body["items"]!.AsArray();
        var token = tokens.First(t => t!["role"]!.ToString() == "viewer")!["id"]!.ToString();
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["account"] = account.Id,
            ["cloud"] = cloud,
            ["mci"] = mci,
            ["matcher"] = matcher,
            ["setting"] = setting,
            ["template"] = template,
            ["server"] = server1,
            ["publication"] = publication,
            ["token"] = token,
            ["ownerToken"] = account.Tokens["admin"],
        };
    }

    [GeneratedRegex(@"\{(\w+)\}")]
    private static partial Regex RouteParameter();
}

using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Imprint.Clouds.Tests.Infrastructure;

namespace Imprint.Clouds.Tests.OpenStack;

/// <summary>Keystone v3 authentication against the real Keystone and a Glance that validates its tokens.</summary>
[Collection(GlanceCollection.Name)]
public sealed class KeystoneAuthTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Demo = """{"username": "demo", "password": "demopw", "userDomainName": "Default", "projectName": "demo", "projectDomainName": "Default"}""";

    private static CloudEndpoint Cloud(string credentials) =>
        new("cld-ks-" + Guid.NewGuid().ToString("N")[..6], "keystone", Peers.KeystoneUrl, "RegionOne", credentials, null);

    [Fact]
    public async Task Sync_Password_UsesTheCatalogEndpointAndListsTheProjectsImages()
    {
        var token = await TokenAsync("demo", "demopw", "demo");
        using var glance = new GlanceAdmin(Peers.GlanceKeystoneUrl, token);
        var id = await glance.CreateAsync("ks-" + Guid.NewGuid().ToString("N")[..6], Peers.RandomBytes(2048));
        var (connector, _, _, services) = Peers.Connector();
        await using var _ = services;

        var result = await connector.SyncAsync(Cloud(Demo), [], Ct);

        result.Success.ShouldBeTrue(result.Error);
        var image = result.Images!.Single(i => i.Uid == id);
        image.Href.ShouldBe($"{Peers.GlanceKeystoneUrl}/v2/images/{id}");
    }

    [Fact]
    public async Task Sync_Password_ListsOtherProjectsImagesTheProjectCanBoot()
    {
        // The admin project's images as the demo project sees them: community yes, private no, shared once accepted
        // (Glance's own listing default: a pending share is not listed until the project accepts it).
        var admin = await TokenAsync("admin", "adminpw", "admin");
        var demo = await TokenAsync("demo", "demopw", "demo");
        using var keystone = new HttpClient();
        var demoProject = await ProjectIdAsync(keystone, admin, "demo");
        using var asAdmin = new GlanceAdmin(Peers.GlanceKeystoneUrl, admin);
        using var asDemo = new GlanceAdmin(Peers.GlanceKeystoneUrl, demo);
        var tag = "vis-" + Guid.NewGuid().ToString("N")[..6];
        var community = await asAdmin.CreateAsync(tag + "-community", Peers.RandomBytes(1024), visibility: "community");
        await asAdmin.CreateAsync(tag + "-private", Peers.RandomBytes(1024), visibility: "private");
        var accepted = await asAdmin.CreateAsync(tag + "-accepted", Peers.RandomBytes(1024), visibility: "shared");
        var pending = await asAdmin.CreateAsync(tag + "-pending", Peers.RandomBytes(1024), visibility: "shared");
        await asAdmin.ShareAsync(accepted, demoProject);
        await asAdmin.ShareAsync(pending, demoProject);
        await asDemo.AnswerShareAsync(accepted, demoProject, "accepted");
        var (connector, _, _, services) = Peers.Connector();
        await using var _ = services;

        var result = await connector.SyncAsync(Cloud(Demo), [], Ct);

        result.Success.ShouldBeTrue(result.Error);
        var mine = result.Images!.Where(i => i.Name.StartsWith(tag, StringComparison.Ordinal)).ToDictionary(i => i.Uid, i => i.Visibility);
        mine.ShouldBe(new Dictionary<string, string> { [community] = "community", [accepted] = "shared" }, ignoreOrder: true);
    }

    [Fact]
    public async Task Sync_ApplicationCredential_Lists()
    {
        var token = await TokenAsync("demo", "demopw", "demo");
        using var keystone = new HttpClient();
        keystone.DefaultRequestHeaders.Add("X-Auth-Token", token);
        keystone.DefaultRequestHeaders.ConnectionClose = true; // keystone-wsgi-public closes connections itself
        var info = await (await SetUpAsync(keystone, () =>
        {
            var tokenInfo = new HttpRequestMessage(HttpMethod.Get, $"{Peers.KeystoneUrl}/auth/tokens");
            tokenInfo.Headers.Add("X-Subject-Token", token);
            return tokenInfo;
        })).Content.ReadFromJsonAsync<JsonObject>(Ct);
        var userId = info!["token"]!["user"]!["id"]!.ToString();
        var body = System.Text.Json.JsonSerializer.Serialize(new { application_credential = new { name = "imprint-" + Guid.NewGuid().ToString("N")[..6] } });
        var created = await SetUpAsync(keystone, () => new HttpRequestMessage(HttpMethod.Post, $"{Peers.KeystoneUrl}/users/{userId}/application_credentials")
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        });
        created.EnsureSuccessStatusCode();
        var credential = (await created.Content.ReadFromJsonAsync<JsonObject>(Ct))!["application_credential"]!;
        var (connector, _, _, services) = Peers.Connector();
        await using var _ = services;

        var result = await connector.SyncAsync(Cloud($$"""{"applicationCredentialId": "{{credential["id"]}}", "applicationCredentialSecret": "{{credential["secret"]}}"}"""), [], Ct);

        result.Success.ShouldBeTrue(result.Error);
    }

    [Fact]
    public async Task Sync_TokenNearExpiry_IsRenewedBeforeUse()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var (connector, _, keystone, services) = Peers.Connector(time: time);
        await using var _ = services;
        var cloud = Cloud(Demo);
        (await connector.SyncAsync(cloud, [], Ct)).Success.ShouldBeTrue();
        (await connector.SyncAsync(cloud, [], Ct)).Success.ShouldBeTrue();
        keystone.TokensIssued.ShouldBe(1); // cached

        time.Advance(TimeSpan.FromMinutes(56)); // Keystone tokens live an hour; renewal starts 5 minutes before

        (await connector.SyncAsync(cloud, [], Ct)).Success.ShouldBeTrue();
        keystone.TokensIssued.ShouldBe(2);
    }

    [Fact]
    public async Task Sync_GlanceRefusesTheToken_AuthenticatesAgainOnceAndRepeats()
    {
        var glanceRequests = 0;
        GarbageServer? server = null;
        server = new GarbageServer((target, _) =>
        {
            if (target.EndsWith("/auth/tokens", StringComparison.Ordinal))
            {
                var body = $$$"""{"token": {"expires_at": "2999-01-01T00:00:00.000000Z", "catalog": [{"type": "image", "endpoints": [{"interface": "public", "region_id": "RegionOne", "url": "{{{server!.Url}}}"}]}]}}""";
                return GarbageServer.Json(201, body).Replace("Content-Type", "X-Subject-Token: tok-" + Guid.NewGuid().ToString("N")[..6] + "\r\nContent-Type", StringComparison.Ordinal);
            }
            // The first listing request is refused as if the token had been revoked.
            return Interlocked.Increment(ref glanceRequests) == 1
                ? GarbageServer.Json(401, """{"message": "token revoked"}""")
                : GarbageServer.Json(200, """{"images": []}""");
        });
        await using var _server = server;
        var (connector, _, keystone, services) = Peers.Connector();
        await using var _ = services;

        var result = await connector.SyncAsync(new CloudEndpoint("cld-401", "x", server.Url + "/v3", "RegionOne", Demo, null), [], Ct);

        result.Success.ShouldBeTrue(result.Error);
        keystone.TokensIssued.ShouldBe(2);
        glanceRequests.ShouldBe(2);
    }

    [Fact]
    public async Task Sync_KeystoneDropsTheFirstTokenRequest_AskedAgain()
    {
        var tokenRequests = 0;
        GarbageServer? server = null;
        server = new GarbageServer((target, _) =>
        {
            if (!target.EndsWith("/auth/tokens", StringComparison.Ordinal))
                return GarbageServer.Json(200, """{"images": []}""");
            if (Interlocked.Increment(ref tokenRequests) == 1)
                return ""; // The connection is closed without an answer.
            var body = $$$"""{"token": {"expires_at": "2999-01-01T00:00:00.000000Z", "catalog": [{"type": "image", "endpoints": [{"interface": "public", "region_id": "RegionOne", "url": "{{{server!.Url}}}"}]}]}}""";
            return GarbageServer.Json(201, body).Replace("Content-Type", "X-Subject-Token: tok-1\r\nContent-Type", StringComparison.Ordinal);
        });
        await using var _server = server;
        var (connector, _, keystone, services) = Peers.Connector(o => o.RetryDelay = TimeSpan.FromMilliseconds(10));
        await using var _ = services;

        var result = await connector.SyncAsync(new CloudEndpoint("cld-drop", "x", server.Url + "/v3", "RegionOne", Demo, null), [], Ct);

        result.Success.ShouldBeTrue(result.Error);
        tokenRequests.ShouldBe(2);
        keystone.TokensIssued.ShouldBe(1);
    }

    [Fact]
    public async Task Sync_WrongPassword_FailsWithoutTheSecret()
    {
        var (connector, _, _, services) = Peers.Connector();
        await using var _ = services;
        var result = await connector.SyncAsync(Cloud(Demo.Replace("demopw", "wrong-secret-pw", StringComparison.Ordinal)), [], Ct);
        result.Success.ShouldBeFalse();
        result.Error.ShouldNotBeNull().ShouldContain("Keystone refused the credentials");
        result.Error.ShouldNotContain("wrong-secret-pw");
    }

    private static async Task<string> UserIdAsync(HttpClient http, string admin, string name)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{Peers.KeystoneUrl}/users?name={name}");
        request.Headers.Add("X-Auth-Token", admin);
        using var response = await http.SendAsync(request, Ct);
        return (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["users"]![0]!["id"]!.ToString();
    }

    private static async Task<string> ProjectIdAsync(HttpClient http, string admin, string name)
    {
        using var response = await SetUpAsync(http, () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"{Peers.KeystoneUrl}/projects?name={name}");
            request.Headers.Add("X-Auth-Token", admin);
            return request;
        });
        return (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["projects"]![0]!["id"]!.ToString();
    }

    private static async Task SetPasswordAsync(HttpClient http, string admin, string userId, string password)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"{Peers.KeystoneUrl}/users/{userId}") 
        {
            Content = new StringContent(System.Text.Json.JsonSerializer.Serialize(new { user = new { password } }), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Auth-Token", admin);
        using var response = await http.SendAsync(request, Ct);
        response.EnsureSuccessStatusCode();
    }

    internal static async Task<string> TokenAsync(string user, string password, string project)
    {
        using var http = new HttpClient();
        var body = new
        {
            auth = new
            {
                identity = new { methods = new[] { "password" }, password = new { user = new { name = user, domain = new { id = "default" }, password } } },
                scope = new { project = new { name = project, domain = new { id = "default" } } },
            },
        };
        var json = System.Text.Json.JsonSerializer.Serialize(body);
        using var response = await SetUpAsync(http, () => new HttpRequestMessage(HttpMethod.Post, $"{Peers.KeystoneUrl}/auth/tokens")
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        });
        response.EnsureSuccessStatusCode();
        return response.Headers.GetValues("X-Subject-Token").Single();
    }

    /// <summary>
    /// A test's own setup request to Keystone. keystone-wsgi-public serves one request at a time and, while other test
    /// classes keep it busy, now and then drops a connection without an answer: the setup (not the code under test) asks
    /// again, up to three times.
    /// </summary>
    private static async Task<HttpResponseMessage> SetUpAsync(HttpClient http, Func<HttpRequestMessage> create)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = create();
            try
            {
                return await http.SendAsync(request, Ct);
            }
            catch (HttpRequestException) when (attempt < 3)
            {
                await Task.Delay(200 * attempt, Ct);
            }
        }
    }
}

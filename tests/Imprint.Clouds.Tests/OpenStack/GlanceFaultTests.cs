using Imprint.Clouds.Tests.Infrastructure;

namespace Imprint.Clouds.Tests.OpenStack;

/// <summary>Protocol faults, from a scripted server (a real Glance cannot produce them) and a closed port.</summary>
public sealed class GlanceFaultTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Image = """{"id": "img-1", "name": "one", "status": "active", "visibility": "public", "checksum": "0123456789abcdef0123456789abcdef", "size": 10}""";

    private static string FullPage(string next) => $$"""{"images": [{{Image}}], "next": "{{next}}"}""";

    private static async Task<SyncResult> SyncAsync(string url, Action<Imprint.Clouds.OpenStack.OpenStackOptions>? configure = null, string? credentials = null)
    {
        var (connector, _, _, services) = Peers.Connector(o =>
        {
            o.PageSize = 1;
            o.Retries = 1;
            o.RequestTimeout = TimeSpan.FromSeconds(2);
            configure?.Invoke(o);
        });
        await using var _ = services;
        return await connector.SyncAsync(new CloudEndpoint("cld-fault", "fault", url, null, credentials, null), [], Ct);
    }

    [Fact]
    public async Task Sync_ConnectionRefused_FailsWithTheAddress()
    {
        var url = $"http://127.0.0.1:{Peers.FreePort()}";
        var result = await SyncAsync(url);
        result.Success.ShouldBeFalse();
        result.Error.ShouldNotBeNull().ShouldContain("cannot connect to Glance");
        result.Error.ShouldContain(url);
    }

    [Fact]
    public async Task Sync_HtmlErrorPage_SaysHtmlNotJson()
    {
        await using var server = new GarbageServer((_, _) => GarbageServer.Html(502, "<html><body>Bad Gateway</body></html>"));
        var result = await SyncAsync(server.Url);
        result.Error.ShouldNotBeNull().ShouldContain("HTML page");
        server.Requests.ShouldBe(2); // a 502 on a GET is retried once, then reported
    }

    [Fact]
    public async Task Sync_ServerError_FailsWithStatusAndGlanceMessage()
    {
        await using var server = new GarbageServer((_, _) => GarbageServer.Json(500, """{"message": "database is locked", "code": 500}"""));
        var result = await SyncAsync(server.Url);
        result.Error.ShouldNotBeNull().ShouldContain("HTTP 500");
        result.Error.ShouldContain("database is locked");
    }

    [Fact]
    public async Task Sync_TruncatedJson_Fails()
    {
        var body = FullPage("/v2/images?marker=img-1");
        await using var server = new GarbageServer((_, _) => GarbageServer.Json(200, body[..(body.Length / 2)]));
        var result = await SyncAsync(server.Url);
        result.Error.ShouldNotBeNull().ShouldContain("invalid or truncated JSON");
    }

    [Fact]
    public async Task Sync_BodyShorterThanContentLength_Fails()
    {
        var body = FullPage("/v2/images?marker=img-1");
        await using var server = new GarbageServer((_, _) => GarbageServer.Json(200, body[..20], contentLength: body.Length));
        var result = await SyncAsync(server.Url);
        result.Success.ShouldBeFalse();
        result.Error.ShouldNotBeNull().ShouldContain("Glance");
    }

    [Fact]
    public async Task Sync_JsonWithoutImages_SaysNotGlance()
    {
        await using var server = new GarbageServer((_, _) => GarbageServer.Json(200, """{"versions": []}"""));
        var result = await SyncAsync(server.Url);
        result.Error.ShouldNotBeNull().ShouldContain("without an \"images\" array");
    }

    [Fact]
    public async Task Sync_UnknownMarkerOnPageTwo_FailsAndNamesTheMarker()
    {
        await using var server = new GarbageServer((target, _) => target.Contains("marker=", StringComparison.Ordinal)
            ? GarbageServer.Json(400, """{"message": "marker img-1 could not be found.", "code": 400}""")
            : GarbageServer.Json(200, FullPage("/v2/images?limit=1&marker=img-1")));
        var result = await SyncAsync(server.Url);
        result.Error.ShouldNotBeNull().ShouldContain("paging marker");
    }

    [Fact]
    public async Task Sync_UnauthorizedMidListing_Fails()
    {
        await using var server = new GarbageServer((target, _) => target.Contains("marker=", StringComparison.Ordinal)
            ? GarbageServer.Json(401, """{"message": "This server could not verify that you are authorized", "code": 401}""")
            : GarbageServer.Json(200, FullPage("/v2/images?limit=1&marker=img-1")));
        var result = await SyncAsync(server.Url);
        result.Error.ShouldNotBeNull().ShouldContain("refused the credentials");
        result.Error.ShouldContain("401");
    }

    [Fact]
    public async Task Sync_SilentServer_TimesOutPerRequest()
    {
        await using var server = new GarbageServer((_, _) => null);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var result = await SyncAsync(server.Url, o => o.RequestTimeout = TimeSpan.FromSeconds(1));
        result.Error.ShouldNotBeNull().ShouldContain("did not answer");
        started.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Sync_KeystoneRefusesPassword_NeverEchoesIt()
    {
        await using var server = new GarbageServer((_, _) => GarbageServer.Json(401, """{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"""));
        var result = await SyncAsync(server.Url, credentials: """{"username": "u", "password": "s3cret-pw", "userDomainName": "Default", "projectName": "p", "projectDomainName": "Default"}""");
        result.Error.ShouldNotBeNull().ShouldContain("Keystone refused the credentials");
        result.Error.ShouldNotContain("s3cret-pw");
    }

    [Fact]
    public async Task Sync_MalformedCredentials_NeverEchoesThem()
    {
        var result = await SyncAsync("http://127.0.0.1:1", credentials: """{"username": "u", "pasword": "s3cret-pw"}""");
        result.Error.ShouldNotBeNull().ShouldNotContain("s3cret-pw");
    }
}

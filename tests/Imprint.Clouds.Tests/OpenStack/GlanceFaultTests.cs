using System.Security.Cryptography;
using System.Text;
using Imprint.Clouds.OpenStack;
using Imprint.Clouds.Tests.Infrastructure;
using Imprint.Core.Digests;

namespace Imprint.Clouds.Tests.OpenStack;

/// <summary>Protocol faults, from a scripted server (a real Glance cannot produce them) and a closed port.</summary>
public sealed class GlanceFaultTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Image = """{"id": "img-1", "name": "one", "status": "active", "visibility": "public", "checksum": "0123456789abcdef0123456789abcdef", "size": 10}""";

    private static string FullPage(string next) => $$"""{"images": [{{Image}}], "next": "{{next}}"}""";

    private static async Task<SyncResult> SyncAsync(string url, Action<Imprint.Clouds.OpenStack.OpenStackOptions>? configure = null, string? credentials = null,
        WantedContent? wanted = null)
    {
        var (connector, _, _, services) = Peers.Connector(o =>
        {
            o.PageSize = 1;
            o.Retries = 1;
            o.RequestTimeout = TimeSpan.FromSeconds(2);
            configure?.Invoke(o);
        });
        await using var _ = services;
        return await connector.SyncAsync(new CloudEndpoint("cld-fault", "fault", url, null, credentials, null, wanted), [], Ct);
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

    [Fact]
    public async Task Sync_ContentDownloadIgnoresRange_DefersTheImageSayingWhy()
    {
        // A proxy that answers every range with the whole file: the qcow2's far L2 table cannot be read without a copy.
        var work = Directory.CreateTempSubdirectory("imprint-norange-").FullName;
        try
        {
            var qcow2 = await File.ReadAllBytesAsync((await Peers.SparseQcow2Async(work)).Qcow2, Ct);
            var ranges = 0;
            await using var server = GarbageServer.Answering((head, _) =>
            {
                if (!head.Contains("/file", StringComparison.Ordinal))
                    return new GarbageServer.Answer(Encoding.UTF8.GetBytes(GarbageServer.Json(200, ListingOf(qcow2, "qcow2", 1L << 30))));
                if (head.Contains("Range:", StringComparison.OrdinalIgnoreCase))
                    Interlocked.Increment(ref ranges);
                return new GarbageServer.Answer([.. Encoding.ASCII.GetBytes(FileHead(qcow2.Length)), .. qcow2]);
            });

            var result = await SyncAsync(server.Url, wanted: Wanted(1L << 30));

            result.Success.ShouldBeTrue(result.Error);
            result.Images!.Single().Properties[GlanceConnector.ContentProperty].ShouldSatisfyAllConditions(
                note => note.ShouldStartWith("deferred: download failed: "),
                note => note.ShouldContain("does not serve byte ranges"));
            result.Content!.Deferred.ShouldBe(["img-1"]);
            ranges.ShouldBe(1);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task Sync_ContentDownloadStalls_DefersAfterTheRequestTimeout()
    {
        var data = Peers.RandomBytes(3 << 20);
        await using var server = GarbageServer.Answering((head, _) => head.Contains("/file", StringComparison.Ordinal)
            ? new GarbageServer.Answer([.. Encoding.ASCII.GetBytes(FileHead(data.Length)), .. data.AsSpan(0, 1 << 20)], ThenHang: true)
            : new GarbageServer.Answer(Encoding.UTF8.GetBytes(GarbageServer.Json(200, ListingOf(data, "raw", data.Length)))));
        var started = System.Diagnostics.Stopwatch.StartNew();

        var result = await SyncAsync(server.Url, o => o.RequestTimeout = TimeSpan.FromSeconds(1), wanted: Wanted(data.Length));

        result.Success.ShouldBeTrue(result.Error);
        result.Images!.Single().Properties[GlanceConnector.ContentProperty].ShouldSatisfyAllConditions(
            note => note.ShouldStartWith("deferred: download failed: "),
            note => note.ShouldContain("sent nothing for 1 s"));
        result.Content!.Deferred.ShouldBe(["img-1"]);
        started.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
    }

    private static WantedContent Wanted(long virtualSize) =>
        new([(Digest.FromBytes(DigestAlgorithm.DiskSha256, Peers.RandomBytes(32)), virtualSize)]);

    private static string ListingOf(byte[] file, string diskFormat, long virtualSize) =>
        $$"""{"images": [{"id": "img-1", "name": "one", "status": "active", "visibility": "public", "disk_format": "{{diskFormat}}", "container_format": "bare", "checksum": "{{Convert.ToHexStringLower(MD5.HashData(file))}}", "size": {{file.Length}}, "virtual_size": {{virtualSize}}}]}""";

    private static string FileHead(long length) =>
        $"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n";
}

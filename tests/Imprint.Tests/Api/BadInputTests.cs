using Imprint.Tests.Infrastructure;

namespace Imprint.Tests.Api;

/// <summary>Bad input gets a problem-details answer naming what is wrong, and writes nothing.</summary>
public sealed class BadInputTests(ImprintServer server) : IClassFixture<ImprintServer>
{
    private async Task<int> CountAsync(ApiClient api, string path) =>
        (await api.GetAsync(path + "?limit=500")).ShouldHaveStatus(200).Body["items"]!.AsArray().Count;

    [Fact]
    public async Task Post_MalformedJson_400ProblemAndNothingWritten()
    {
        using var api = server.Client();
        var before = await CountAsync(api, "/api/clouds");

        var reply = await api.PostRawAsync("/api/clouds", "{\"name\": \"x\", ");

        reply.ShouldHaveStatus(400);
        reply.MediaType.ShouldBe("application/problem+json");
        reply["type"].ShouldEndWith("/validation");
        reply["detail"].ShouldContain("not valid JSON");
        (await CountAsync(api, "/api/clouds")).ShouldBe(before);
    }

    [Fact]
    public async Task Post_FieldOfWrongType_400NamesTheField()
    {
        using var api = server.Client();

        var reply = await api.PostRawAsync("/api/clouds", """{"name": "x", "kind": "folder", "endpoint": "/tmp", "public": "yes"}""");

        reply.ShouldHaveStatus(400);
        reply.Body["errors"]!["$.public"].ShouldNotBeNull();
    }

    [Fact]
    public async Task CreateCloud_UnknownKindAndRelativeFolder_400WithFieldErrors()
    {
        using var api = server.Client();

        var unknown = await api.PostAsync("/api/clouds", new { name = "x", kind = "azure-stack", endpoint = "https://x" });
        var relative = await api.PostAsync("/api/clouds", new { name = "y", kind = "folder", endpoint = "images/" });
        var missing = await api.PostAsync("/api/clouds", new { kind = "folder" });

        unknown.ShouldHaveStatus(400).Body["errors"]!["kind"]![0]!.ToString().ShouldContain("unknown cloud kind 'azure-stack'");
        relative.ShouldHaveStatus(400).Body["errors"]!["endpoint"]![0]!.ToString().ShouldContain("absolute");
        missing.ShouldHaveStatus(400).Body["errors"]!["name"].ShouldNotBeNull();
        missing.Body["errors"]!["endpoint"].ShouldNotBeNull();
    }

    [Fact]
    public async Task CreateCloud_DuplicateName_409()
    {
        using var api = server.Client();
        var folder = TestImages.NewFolder();
        await api.CreateFolderCloudAsync(folder, name: "dup-cloud");

        var reply = await api.PostAsync("/api/clouds", new { name = "dup-cloud", kind = "folder", endpoint = folder });

        reply.ShouldHaveStatus(409)["type"].ShouldEndWith("/conflict");
    }

    [Theory]
    [InlineData("sha256:abc", "64 hex digits, not 3")]
    [InlineData("md5:zz41d8cd98f00b204e9800998ecf8427", "not a hex digit")]
    [InlineData("crc32:00000000", "unknown digest algorithm")]
    public async Task AddMatcher_BadDigest_400AndNoMatcher(string digest, string message)
    {
        using var api = server.Client();
        var mci = await api.CreateMciAsync();

        var reply = await api.PostAsync($"/api/multi-cloud-images/{mci}/matchers", new { cloudKind = "folder", fingerprint = new[] { digest } });

        reply.ShouldHaveStatus(400).Body["errors"]!["fingerprint"]![0]!.ToString().ShouldContain(message);
        (await CountAsync(api, $"/api/multi-cloud-images/{mci}/matchers")).ShouldBe(0);
    }

    [Theory]
    [InlineData("0", "virtualSize", "must be a positive number of bytes")]
    [InlineData("-1073741824", "virtualSize", "must be a positive number of bytes")]
    [InlineData("\"10 GiB\"", "$.virtualSize", "could not be converted")]
    [InlineData("1.5", "$.virtualSize", "could not be converted")]
    public async Task AddMatcher_BadVirtualSize_400NamesTheFieldAndNoMatcher(string value, string field, string message)
    {
        using var api = server.Client();
        var mci = await api.CreateMciAsync();

        var reply = await api.PostRawAsync($"/api/multi-cloud-images/{mci}/matchers",
            $$"""{"cloudKind": "folder", "fingerprint": ["md5:d41d8cd98f00b204e9800998ecf8427e"], "virtualSize": {{value}}}""");

        reply.ShouldHaveStatus(400)["type"].ShouldEndWith("/validation");
        reply.Body["errors"]![field]![0]!.ToString().ShouldContain(message);
        (await CountAsync(api, $"/api/multi-cloud-images/{mci}/matchers")).ShouldBe(0);
    }

    [Fact]
    public async Task AddMatcher_SecondOfSameKind_409()
    {
        using var api = server.Client();
        var mci = await api.CreateMciAsync();
        await api.AddMatcherAsync(mci, ["md5:d41d8cd98f00b204e9800998ecf8427e"]);

        var reply = await api.PostAsync($"/api/multi-cloud-images/{mci}/matchers", new { cloudKind = "folder", fingerprint = new[] { "md5:00000000000000000000000000000000" } });

        reply.ShouldHaveStatus(409);
    }

    [Theory]
    [InlineData("/api/clouds/cld_nope")]
    [InlineData("/api/multi-cloud-images/mci_nope")]
    [InlineData("/api/multi-cloud-images/mci_nope/image-map")]
    [InlineData("/api/server-templates/st_nope")]
    [InlineData("/api/servers/srv_nope")]
    public async Task Get_UnknownId_404Problem(string path)
    {
        using var api = server.Client();

        var reply = await api.GetAsync(path);

        reply.ShouldHaveStatus(404);
        reply["type"].ShouldEndWith("/not-found");
    }

    [Fact]
    public async Task EditCommittedRevision_409AndUnchanged()
    {
        using var api = server.Client();
        var mci = await api.CreateMciAsync("base");
        await api.AddMatcherAsync(mci, ["md5:d41d8cd98f00b204e9800998ecf8427e"]);
        var revision = (await api.PostAsync($"/api/multi-cloud-images/{mci}/commit", new { message = "first" })).ShouldHaveStatus(201);

        revision.Body["revision"]!.GetValue<int>().ShouldBe(1);
        var revisionId = revision["id"];
        (await api.PatchAsync($"/api/multi-cloud-images/{revisionId}", new { name = "changed" })).ShouldHaveStatus(409);
        (await api.PostAsync($"/api/multi-cloud-images/{revisionId}/matchers", new { cloudKind = "openstack", fingerprint = new[] { "md5:d41d8cd98f00b204e9800998ecf8427e" } })).ShouldHaveStatus(409);
        var matcher = (await api.GetAsync($"/api/multi-cloud-images/{revisionId}/matchers")).Body["items"]![0]!["id"]!.ToString();
        (await api.DeleteAsync($"/api/multi-cloud-images/{revisionId}/matchers/{matcher}")).ShouldHaveStatus(409);
        (await api.PostAsync($"/api/multi-cloud-images/{revisionId}/commit")).ShouldHaveStatus(409);
        (await api.GetAsync($"/api/multi-cloud-images/{revisionId}"))["name"].ShouldBe("base");
        (await CountAsync(api, $"/api/multi-cloud-images/{revisionId}/matchers")).ShouldBe(1);
    }

    [Fact]
    public async Task RemoveDefaultOrLastMci_409()
    {
        using var api = server.Client();
        var first = await api.CreateMciAsync();
        var template = await api.CreateTemplateAsync(first);

        (await api.DeleteAsync($"/api/server-templates/{template}/multi-cloud-images/{first}")).ShouldHaveStatus(409)["detail"].ShouldContain("last");
        var second = await api.CreateMciAsync();
        (await api.PostAsync($"/api/server-templates/{template}/multi-cloud-images", new { mciId = second })).ShouldHaveStatus(201);
        (await api.DeleteAsync($"/api/server-templates/{template}/multi-cloud-images/{first}")).ShouldHaveStatus(409)["detail"].ShouldContain("default");
        (await api.PostAsync($"/api/server-templates/{template}/multi-cloud-images/{second}/make-default")).ShouldHaveStatus(200);
        (await api.DeleteAsync($"/api/server-templates/{template}/multi-cloud-images/{first}")).ShouldHaveStatus(204);
        var links = (await api.GetAsync($"/api/server-templates/{template}/multi-cloud-images")).Body["items"]!.AsArray();
        links.ShouldHaveSingleItem()!["isDefault"]!.GetValue<bool>().ShouldBeTrue();
    }

    [Fact]
    public async Task DeleteMciUsedByTemplate_409()
    {
        using var api = server.Client();
        var mci = await api.CreateMciAsync();
        await api.CreateTemplateAsync(mci);

        (await api.DeleteAsync($"/api/multi-cloud-images/{mci}")).ShouldHaveStatus(409);
        (await api.GetAsync($"/api/multi-cloud-images/{mci}")).ShouldHaveStatus(200);
    }

    [Fact]
    public async Task Post_BodyOverOneMiB_413()
    {
        using var api = server.Client();
        var big = new string('x', 1024 * 1024 + 10);

        var reply = await api.PostRawAsync("/api/multi-cloud-images", $$"""{"name": "{{big}}"}""");

        reply.ShouldHaveStatus(413);
        reply["type"].ShouldEndWith("/too-large");
    }

    [Fact]
    public async Task Post_BodyOverOneMiBSentLate_ServerWaitsForItThenAnswers413()
    {
        // A server that answers 413 before the body has arrived, then closes, leaves a client still sending it
        // with a broken pipe instead of the answer: the server takes in the body first.
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port, TestContext.Current.CancellationToken);
        var stream = client.GetStream();
        var body = System.Text.Encoding.ASCII.GetBytes($$"""{"name": "{{new string('x', 1024 * 1024 + 10)}}"}""");
        var head = $"POST /api/multi-cloud-images HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nAuthorization: Bearer {server.AdminToken}\r\n"
            + $"Content-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head), TestContext.Current.CancellationToken);

        await Task.Delay(500, TestContext.Current.CancellationToken);
        client.Available.ShouldBe(0, "the server answered before the body was sent");
        await stream.WriteAsync(body, TestContext.Current.CancellationToken);
        using var reader = new StreamReader(stream);
        var status = await reader.ReadLineAsync(TestContext.Current.CancellationToken);

        status.ShouldBe("HTTP/1.1 413 Payload Too Large");
    }

    [Fact]
    public async Task Post_ChunkedBodyOverOneMiB_413()
    {
        using var api = server.Client();
        var content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($$"""{"name": "{{new string('x', 1100 * 1024)}}"}""")));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/multi-cloud-images") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        var reply = await api.SendAsync(request);

        reply.ShouldHaveStatus(413);
    }

    [Fact]
    public async Task List_LimitOutOfRange_400()
    {
        using var api = server.Client();

        (await api.GetAsync("/api/clouds?limit=0")).ShouldHaveStatus(400).Body["errors"]!["limit"].ShouldNotBeNull();
        (await api.GetAsync("/api/clouds?limit=100000")).ShouldHaveStatus(400);
    }

    [Fact]
    public async Task Images_BadDigestFilter_400()
    {
        using var api = server.Client();
        var cloud = await api.CreateFolderCloudAsync(TestImages.NewFolder());

        (await api.GetAsync($"/api/clouds/{cloud}/images?digest=sha256:12")).ShouldHaveStatus(400).Body["errors"]!["digest"].ShouldNotBeNull();
    }
}

using System.Net.Http.Headers;
using Imprint.Tests.Infrastructure;

namespace Imprint.Tests.Api;

public sealed class AuthTests(ImprintServer server) : IClassFixture<ImprintServer>
{
    [Theory]
    [InlineData("/healthz")]
    [InlineData("/openapi/v1.json")]
    public async Task Public_NoToken_200(string path)
    {
        using var api = server.Client(token: null!);
        api.Http.DefaultRequestHeaders.Authorization = null;

        (await api.GetAsync(path)).ShouldHaveStatus(200);
    }

    [Fact]
    public async Task OpenApi_DescribesTheCatalogRoutes()
    {
        using var api = server.Client();

        var document = (await api.GetAsync("/openapi/v1.json")).ShouldHaveStatus(200).Body;

        var paths = document["paths"]!.AsObject().Select(p => p.Key).ToList();
        paths.ShouldContain("/api/clouds/{id}/rematch");
        paths.ShouldContain("/api/multi-cloud-images/{id}/image-map");
        paths.ShouldContain("/api/servers");
    }

    [Fact]
    public async Task Api_NoToken_401Problem()
    {
        using var api = server.Client();
        api.Http.DefaultRequestHeaders.Authorization = null;

        var reply = await api.GetAsync("/api/clouds");

        reply.ShouldHaveStatus(401);
        reply.MediaType.ShouldBe("application/problem+json");
    }

    [Theory]
    [InlineData("Bearer imp_not-a-real-token")]
    [InlineData("Basic dXNlcjpwYXNz")]
    public async Task Api_BadToken_401(string header)
    {
        using var api = server.Client();
        api.Http.DefaultRequestHeaders.Authorization = AuthenticationHeaderValue.Parse(header);

        (await api.GetAsync("/api/clouds")).ShouldHaveStatus(401);
    }

    [Fact]
    public void AdminTokenFile_OwnerOnly()
    {
        var path = Path.Combine(server.DataDirectory, "admin.token");
        var mode = OperatingSystem.IsWindows() ? UnixFileMode.None : File.GetUnixFileMode(path);

        mode.ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        server.AdminToken.ShouldStartWith("imp_");
    }
}

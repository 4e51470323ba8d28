namespace Imprint.Tests.Infrastructure;

/// <summary>Steps that tests repeat, each through the public API.</summary>
public static class CatalogSteps
{
    public static async Task<string> CreateFolderCloudAsync(this ApiClient api, string folder, string? name = null, string contact = "ops@example.com")
    {
        var reply = await api.PostAsync("/api/clouds", new
        {
            name = name ?? "cloud-" + Guid.NewGuid().ToString("N")[..8],
            kind = "folder",
            endpoint = folder,
            adminContact = contact,
        });
        return reply.ShouldHaveStatus(201)["id"];
    }

    public static async Task<string> CreateMciAsync(this ApiClient api, string? name = null)
    {
        var reply = await api.PostAsync("/api/multi-cloud-images", new { name = name ?? "mci-" + Guid.NewGuid().ToString("N")[..8] });
        return reply.ShouldHaveStatus(201)["id"];
    }

    public static async Task<string> AddMatcherAsync(this ApiClient api, string mciId, string[] fingerprint, string? imageName = null, string kind = "folder")
    {
        var reply = await api.PostAsync($"/api/multi-cloud-images/{mciId}/matchers", new { cloudKind = kind, fingerprint, imageName });
        return reply.ShouldHaveStatus(201)["id"];
    }

    public static async Task<string> CreateTemplateAsync(this ApiClient api, params string[] mciIds)
    {
        var id = (await api.PostAsync("/api/server-templates", new { name = "st-" + Guid.NewGuid().ToString("N")[..8] })).ShouldHaveStatus(201)["id"];
        foreach (var mciId in mciIds)
            (await api.PostAsync($"/api/server-templates/{id}/multi-cloud-images", new { mciId })).ShouldHaveStatus(201);
        return id;
    }

    public static async Task<Reply> RematchAsync(this ApiClient api, string cloudId) =>
        (await api.PostAsync($"/api/clouds/{cloudId}/rematch")).ShouldHaveStatus(200);

    /// <summary>The image-map entry of one cloud for one MCI.</summary>
    public static async Task<System.Text.Json.Nodes.JsonNode> MapEntryAsync(this ApiClient api, string mciId, string cloudId)
    {
        var map = (await api.GetAsync($"/api/multi-cloud-images/{mciId}/image-map")).ShouldHaveStatus(200);
        return map.Body["clouds"]!.AsArray().Single(c => c!["cloudId"]!.ToString() == cloudId)!;
    }
}

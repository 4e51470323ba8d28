using Imprint.Auth;
using Imprint.Core.Catalog;
using Imprint.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Api;

internal sealed record ServerRequest(string? Name, string? ServerTemplateId, string? CloudId, string? MciId, string? InstanceType);

internal sealed record ServerResponse(string Id, string Href, string Name, string ServerTemplateId, string CloudId, string MciId,
    ImageLink Image, string? InstanceType, DateTimeOffset CreatedAt);

/// <summary>Which MCI of a template resolves in a cloud: the given one; else the default, then the others in order.</summary>
internal static class Launch
{
    private static readonly HashSet<string> Resolving = new(StringComparer.Ordinal) { "matched", "ambiguous", "stale" };

    public static LaunchableCloud Resolve(IReadOnlyList<TemplateImageMap> maps, string cloudId, string cloudName, string? mciId)
    {
        var reasons = new List<string>();
        foreach (var map in maps)
        {
            if (mciId is not null && map.MciId != mciId)
                continue;
            var entry = map.Clouds.SingleOrDefault(c => c.CloudId == cloudId);
            if (entry is null)
            {
                reasons.Add($"{map.MciName}: no setting or matcher applies to {cloudName}");
                continue;
            }
            if (entry.Image is not null && Resolving.Contains(entry.Status))
                return new LaunchableCloud(cloudId, cloudName, true, map.MciId, entry.Image.Uid, $"{map.MciName}: {entry.Status} image {entry.Image.Uid}");
            reasons.Add($"{map.MciName}: {entry.Status}: {entry.Reason}");
        }
        return new LaunchableCloud(cloudId, cloudName, false, null, null, string.Join(" | ", reasons));
    }
}

/// <summary>Servers: a launch request resolves to one image or is refused with the reason and the fix.</summary>
internal static class ServersApi
{
    public static RouteGroupBuilder MapServersApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/servers").WithTags("Servers").RequireAuthorization(Policies.Read);
        group.MapGet("/", ListAsync);
        group.MapPost("/", LaunchAsync).RequireAuthorization(Policies.Launch);
        group.MapGet("/{id}", GetAsync);
        return group;
    }

    private static ServerResponse ToResponse(Server s) =>
        new(s.Id, $"/api/servers/{s.Id}", s.Name, s.ServerTemplateId, s.CloudId, s.MciId,
            new ImageLink(s.ImageUid, s.ImageUid, $"/api/clouds/{s.CloudId}/images?uid={Uri.EscapeDataString(s.ImageUid)}", null),
            s.InstanceType, s.CreatedAt);

    private static async Task<Results<Ok<Page<ServerResponse>>, ValidationProblem>> ListAsync(ImprintDb db, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        if (Paging.Check(limit, out var take) is { } problem)
            return problem;
        return TypedResults.Ok(await Paging.PageAsync(db.Servers.AsNoTracking(), s => s.Id, cursor, take, ToResponse, cancellationToken));
    }

    private static async Task<Results<Ok<ServerResponse>, ProblemHttpResult>> GetAsync(ImprintDb db, string id, CancellationToken cancellationToken)
    {
        var server = await db.Servers.AsNoTracking().SingleOrDefaultAsync(s => s.Id == id, cancellationToken);
        return server is null ? Problems.NotFound($"no server {id}") : TypedResults.Ok(ToResponse(server));
    }

    internal static async Task<Results<Created<ServerResponse>, ValidationProblem, ProblemHttpResult>> LaunchAsync(
        ImprintDb db, ServerRequest request, HttpContext http, TimeProvider time, CancellationToken cancellationToken)
    {
        var check = new Validation();
        var name = check.Required("name", request.Name, 100);
        var templateId = check.Required("serverTemplateId", request.ServerTemplateId, 100);
        var cloudId = check.Required("cloudId", request.CloudId, 100);
        check.Length("instanceType", request.InstanceType, 100);
        if (!check.IsValid)
            return check.Problem();
        var template = await db.ServerTemplates.AsNoTracking().SingleOrDefaultAsync(t => t.Id == templateId, cancellationToken);
        if (template is null)
            return Problems.NotFound($"no ServerTemplate {templateId}");
        var cloud = await db.Clouds.AsNoTracking().SingleOrDefaultAsync(c => c.Id == cloudId, cancellationToken);
        if (cloud is null)
            return Problems.NotFound($"no cloud {cloudId}");

        var map = await ServerTemplatesApi.BuildImageMapAsync(db, template.Id, cancellationToken);
        if (request.MciId is not null && map.MultiCloudImages.All(m => m.MciId != request.MciId))
            return Problems.Invalid("mciId", $"ServerTemplate {template.Id} does not list MultiCloud Image {request.MciId}");
        var resolved = Launch.Resolve(map.MultiCloudImages, cloud.Id, cloud.Name, request.MciId);
        if (!resolved.Launchable)
            return NoImageMatch(map, cloud, request.MciId, resolved.Reason);

        var setting = await db.Settings.AsNoTracking().SingleOrDefaultAsync(s => s.MciId == resolved.MciId && s.CloudId == cloud.Id, cancellationToken);
        var server = new Server
        {
            Id = Ids.New("srv", time),
            AccountId = cloud.AccountId,
            Name = name!,
            ServerTemplateId = template.Id,
            CloudId = cloud.Id,
            MciId = resolved.MciId!,
            ImageUid = resolved.ImageUid!,
            InstanceType = request.InstanceType ?? setting?.InstanceType,
            CreatedAt = time.GetUtcNow(),
        };
        db.Servers.Add(server);
        Audit.Record(db, http, "server.launch", server.Id, new { server.ServerTemplateId, server.CloudId, server.MciId, server.ImageUid }, server.CreatedAt);
        await db.SaveChangesAsync(cancellationToken);
        var entry = map.MultiCloudImages.Single(m => m.MciId == server.MciId).Clouds.Single(c => c.CloudId == cloud.Id);
        var response = ToResponse(server) with { Image = entry.Image! };
        return TypedResults.Created(response.Href, response);
    }

    private static ProblemHttpResult NoImageMatch(TemplateImageMapResponse map, Cloud cloud, string? mciId, string reasons)
    {
        var mci = map.MultiCloudImages.FirstOrDefault(m => m.MciId == mciId) ?? map.MultiCloudImages.FirstOrDefault(m => m.IsDefault);
        var entry = mci?.Clouds.SingleOrDefault(c => c.CloudId == cloud.Id);
        var contact = string.IsNullOrWhiteSpace(cloud.AdminContact) ? $"the administrator of {cloud.Name}" : cloud.AdminContact;
        var what = entry?.Fingerprint is { } fingerprint
            ? $"Ask {contact} to upload the image with digests {string.Join(' ', fingerprint)}."
            : $"Add a setting or a matcher for {cloud.Name} to one of the template's MultiCloud Images.";
        return TypedResults.Problem(
            statusCode: 422,
            type: Problems.TypeBase + "no-image-match",
            title: "No image matches",
            detail: $"ServerTemplate {map.ServerTemplateId} cannot launch in {cloud.Name}: {reasons}. {what}",
            extensions: new Dictionary<string, object?>
            {
                ["cloudId"] = cloud.Id,
                ["mciId"] = mci?.MciId,
                ["fingerprint"] = entry?.Fingerprint,
                ["adminContact"] = cloud.AdminContact,
            });
    }
}

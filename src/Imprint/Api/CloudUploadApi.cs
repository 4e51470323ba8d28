using Imprint.Auth;
using Imprint.Clouds;
using Imprint.Core.Digests;
using Imprint.Rematch;
using Imprint.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Api;

internal sealed record UploadResponse(ImageResponse Image, RematchReport? Rematch);

/// <summary>
/// <c>POST /api/clouds/{id}/images?name=N&amp;diskFormat=F&amp;digest=ALG:HEX…</c> with the image file as the body
/// (<c>application/octet-stream</c>): the server uploads it into the cloud with the cloud's own credentials (which never
/// leave the server), checks the cloud's digests against the given ones, then rematches the cloud.
/// </summary>
internal static class CloudUploadApi
{
    /// <summary>Image files are large: this route alone accepts bodies up to this size. 1 TiB.</summary>
    public const long MaxImageSize = 1L << 40;

    /// <summary>When the cloud could not be reached, the client is told to try again after this long (API.md: 503 with Retry-After).</summary>
    private const string UnreachableRetryAfterSeconds = "30";

    public static void MapCloudUploadApi(this IEndpointRouteBuilder routes) =>
        routes.MapPost("/api/clouds/{id}/images", UploadAsync).WithTags("Clouds").RequireAuthorization(Policies.ManageClouds)
            .WithMetadata(new RequestSizeLimitAttribute(MaxImageSize));

    private static async Task<Results<Created<UploadResponse>, ValidationProblem, ProblemHttpResult>> UploadAsync(
        ImprintDb db, string id, [FromQuery] string? name, [FromQuery] string? diskFormat, [FromQuery] string[]? digest, HttpContext http, [FromServices] IEnumerable<IImageUploader> uploaders,
        IDataProtectionProvider protection, RematchService rematch, CancellationToken cancellationToken)
    {
        var cloud = await db.Clouds.AsNoTracking().SingleOrDefaultAsync(c => c.Id == id, cancellationToken);
        if (cloud is null)
            return Problems.NotFound($"no cloud {id}");
        var uploader = uploaders.FirstOrDefault(u => u.Kind == cloud.Kind);
        if (uploader is null)
            return Problems.Invalid("id", $"Imprint cannot upload into a {cloud.Kind} cloud");
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(name) || name.Length > 255)
            errors["name"] = ["is required, at most 255 characters"];
        if (string.IsNullOrWhiteSpace(diskFormat))
            errors["diskFormat"] = ["is required: raw, qcow2, vmdk, vhd or vhdx"];
        var digests = new List<Digest>();
        foreach (var text in digest ?? [])
        {
            var parsed = Digest.Parse(text);
            if (parsed.Success)
                digests.Add(parsed.Value);
            else
                errors["digest"] = [parsed.Error!];
        }
        if (!digests.Any(d => d.IsFileDigest))
            errors.TryAdd("digest", ["at least one file digest (md5, sha512) of the local file is required, to check the upload"]);
        if (errors.Count > 0)
            return Problems.Invalid(errors);

        var credentials = cloud.ProtectedCredentials is null ? null : protection.CreateProtector(RematchService.CredentialsPurpose).Unprotect(cloud.ProtectedCredentials);
        var endpoint = new CloudEndpoint(cloud.Id, cloud.Name, cloud.Endpoint, cloud.Region, credentials, cloud.SyncState);
        var result = await uploader.UploadAsync(endpoint, new ImageUpload(name!.Trim(), diskFormat!, http.Request.ContentLength, digests), http.Request.Body, cancellationToken);
        if (!result.Success)
        {
            if (result.Status == StatusCodes.Status503ServiceUnavailable)
                http.Response.Headers.RetryAfter = UnreachableRetryAfterSeconds;
            return TypedResults.Problem(result.Error, statusCode: result.Status, type: Problems.TypeFor(result.Status));
        }
        var report = await rematch.RematchCloudAsync(cloud.AccountId, cloud.Id, cancellationToken);
        var image = result.Image!;
        var response = new ImageResponse(image.Uid, image.Name, image.Status, image.Visibility, image.DiskFormat, image.Size, image.VirtualSize,
            image.Digests.Select(d => d.ToString()).ToList(), image.Properties, image.CreatedAt, image.UpdatedAt, image.Href ?? "", image.ConsoleUrl);
        return TypedResults.Created($"/api/clouds/{cloud.Id}/images?uid={Uri.EscapeDataString(image.Uid)}", new UploadResponse(response, report));
    }
}

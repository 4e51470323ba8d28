using System.Text.Json;
using Imprint.Auth;
using Imprint.Core.Catalog;
using Imprint.Core.Digests;
using Imprint.Rematch;
using Imprint.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Api;

internal sealed record CloudRequest(
    string? Name,
    string? Kind,
    string? Endpoint,
    string? Region,
    bool? Public,
    string? AdminContact,
    string? Credentials,
    TimeSpan? SyncInterval);

internal sealed record CloudResponse(
    string Id,
    string Href,
    string Name,
    string Kind,
    string Endpoint,
    string? Region,
    bool Public,
    string? AdminContact,
    bool CredentialsSet,
    TimeSpan SyncInterval,
    DateTimeOffset? LastSyncAttemptAt,
    DateTimeOffset? LastSyncSucceededAt,
    string? LastSyncError,
    DateTimeOffset? NextSyncAt,
    DateTimeOffset CreatedAt)
{
    public static CloudResponse From(Cloud c) => new(c.Id, $"/api/clouds/{c.Id}", c.Name, c.Kind, c.Endpoint, c.Region, c.IsPublic,
        c.AdminContact, c.ProtectedCredentials is not null, c.SyncInterval, c.LastSyncAttemptAt, c.LastSyncSucceededAt, c.LastSyncError,
        c.NextSyncAt, c.CreatedAt);
}

internal sealed record ImageResponse(
    string Uid,
    string Name,
    string Status,
    string Visibility,
    string? DiskFormat,
    long? Size,
    long? VirtualSize,
    IReadOnlyList<string> Digests,
    IReadOnlyDictionary<string, string> Properties,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? UpdatedAt,
    string Href,
    string? ConsoleUrl)
{
    public static ImageResponse From(Image i) => new(i.Uid, i.Name, i.Status, i.Visibility, i.DiskFormat, i.Size, i.VirtualSize,
        i.Digests.Split(' ', StringSplitOptions.RemoveEmptyEntries),
        JsonSerializer.Deserialize<Dictionary<string, string>>(i.Properties) ?? [],
        i.CreatedAt, i.UpdatedAt, i.Href ?? $"/api/clouds/{i.CloudId}/images?uid={Uri.EscapeDataString(i.Uid)}", i.ConsoleUrl);
}

/// <summary>Clouds, their inventories and rematch.</summary>
internal static class CloudsApi
{
    public static readonly TimeSpan MinSyncInterval = TimeSpan.FromMinutes(1);

    public static RouteGroupBuilder MapCloudsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/clouds").WithTags("Clouds").RequireAuthorization(Policies.Read);
        group.MapGet("/", ListAsync);
        group.MapPost("/", CreateAsync).RequireAuthorization(Policies.ManageClouds);
        group.MapGet("/{id}", GetAsync);
        group.MapPatch("/{id}", UpdateAsync).RequireAuthorization(Policies.ManageClouds);
        group.MapDelete("/{id}", DeleteAsync).RequireAuthorization(Policies.ManageClouds);
        group.MapPost("/{id}/rematch", RematchAsync).RequireAuthorization(Policies.ManageClouds);
        group.MapGet("/{id}/images", ImagesAsync);
        return group;
    }

    private static async Task<Results<Ok<Page<CloudResponse>>, ValidationProblem>> ListAsync(ImprintDb db, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        if (Paging.Check(limit, out var take) is { } problem)
            return problem;
        return TypedResults.Ok(await Paging.PageAsync(db.Clouds.AsNoTracking(), c => c.Id, cursor, take, CloudResponse.From, cancellationToken));
    }

    private static async Task<Results<Ok<CloudResponse>, ProblemHttpResult>> GetAsync(ImprintDb db, string id, CancellationToken cancellationToken)
    {
        var cloud = await db.Clouds.AsNoTracking().SingleOrDefaultAsync(c => c.Id == id, cancellationToken);
        return cloud is null ? Problems.NotFound($"no cloud {id}") : TypedResults.Ok(CloudResponse.From(cloud));
    }

    internal static async Task<Results<Created<CloudResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        ImprintDb db, CloudRequest request, HttpContext http, TimeProvider time, IDataProtectionProvider protection, CancellationToken cancellationToken)
    {
        var check = new Validation();
        var name = check.Required("name", request.Name, 100);
        var kind = check.Required("kind", request.Kind, 40);
        if (kind is not null && !CloudKinds.All.Contains(kind))
            check.Add("kind", $"unknown cloud kind '{kind}': use one of {string.Join(", ", CloudKinds.All)}");
        var endpoint = check.Required("endpoint", request.Endpoint, 2000);
        CheckCommon(check, kind, endpoint, request);
        if (!check.IsValid)
            return check.Problem();
        var accountId = http.User.AccountId();
        if (await db.Clouds.AnyAsync(c => c.Name == name, cancellationToken))
            return Problems.Conflict($"a cloud named '{name}' already exists");

        var now = time.GetUtcNow();
        var cloud = new Cloud
        {
            Id = Ids.New("cld", time),
            AccountId = accountId,
            Name = name!,
            Kind = kind!,
            Endpoint = endpoint!,
            Region = request.Region,
            IsPublic = request.Public ?? false,
            AdminContact = request.AdminContact,
            SyncInterval = request.SyncInterval ?? TimeSpan.FromMinutes(15),
            ProtectedCredentials = Protect(protection, request.Credentials),
            CreatedAt = now,
            UpdatedAt = now,
            NextSyncAt = now, // the scheduler syncs a new cloud at once
        };
        db.Clouds.Add(cloud);
        Audit.Record(db, http, "cloud.create", cloud.Id, new { cloud.Name, cloud.Kind, cloud.Endpoint }, now);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/api/clouds/{cloud.Id}", CloudResponse.From(cloud));
    }

    private static void CheckCommon(Validation check, string? kind, string? endpoint, CloudRequest request)
    {
        if (kind == CloudKinds.Folder && endpoint is not null && !Path.IsPathFullyQualified(endpoint))
            check.Add("endpoint", "a folder cloud's endpoint is an absolute directory path");
        if (kind is not null && kind != CloudKinds.Folder && endpoint is not null
            && !(Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            check.Add("endpoint", $"a {kind} cloud's endpoint is an http(s) URL");
        check.Length("region", request.Region, 100);
        check.Length("adminContact", request.AdminContact, 200);
        check.Length("credentials", request.Credentials, 8000);
        if (request.SyncInterval is { } interval && (interval < MinSyncInterval || interval > TimeSpan.FromDays(7)))
            check.Add("syncInterval", "must be between 00:01:00 and 7.00:00:00");
    }

    private static string? Protect(IDataProtectionProvider protection, string? credentials) =>
        string.IsNullOrEmpty(credentials) ? null : protection.CreateProtector(RematchService.CredentialsPurpose).Protect(credentials);

    private static async Task<Results<Ok<CloudResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        ImprintDb db, string id, CloudRequest request, HttpContext http, TimeProvider time, IDataProtectionProvider protection,
        RematchService rematch, CancellationToken cancellationToken)
    {
        var cloud = await db.Clouds.SingleOrDefaultAsync(c => c.Id == id, cancellationToken);
        if (cloud is null)
            return Problems.NotFound($"no cloud {id}");
        var check = new Validation();
        if (request.Kind is not null && request.Kind != cloud.Kind)
            check.Add("kind", "a cloud's kind cannot change: register a new cloud");
        if (request.Name is not null)
            check.Required("name", request.Name, 100);
        CheckCommon(check, cloud.Kind, request.Endpoint ?? cloud.Endpoint, request);
        if (!check.IsValid)
            return check.Problem();
        if (request.Name is not null && request.Name != cloud.Name && await db.Clouds.AnyAsync(c => c.Name == request.Name, cancellationToken))
            return Problems.Conflict($"a cloud named '{request.Name}' already exists");

        var now = time.GetUtcNow();
        cloud.Name = request.Name?.Trim() ?? cloud.Name;
        cloud.Endpoint = request.Endpoint ?? cloud.Endpoint;
        cloud.Region = request.Region ?? cloud.Region;
        cloud.IsPublic = request.Public ?? cloud.IsPublic;
        cloud.AdminContact = request.AdminContact ?? cloud.AdminContact;
        cloud.SyncInterval = request.SyncInterval ?? cloud.SyncInterval;
        if (request.Credentials is not null)
            cloud.ProtectedCredentials = Protect(protection, request.Credentials);
        cloud.UpdatedAt = now;
        Audit.Record(db, http, "cloud.update", cloud.Id, new { cloud.Name, cloud.Endpoint, credentialsChanged = request.Credentials is not null }, now);
        await db.SaveChangesAsync(cancellationToken);
        // The admin contact and the name appear in match reasons.
        await rematch.RecomputeAsync(cloud.AccountId, [cloud.Id], cancellationToken);
        return TypedResults.Ok(CloudResponse.From(cloud));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(ImprintDb db, string id, HttpContext http, TimeProvider time, CancellationToken cancellationToken)
    {
        var cloud = await db.Clouds.SingleOrDefaultAsync(c => c.Id == id, cancellationToken);
        if (cloud is null)
            return Problems.NotFound($"no cloud {id}");
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.Images.Where(i => i.CloudId == id).ExecuteDeleteAsync(cancellationToken);
        await db.Settings.Where(s => s.CloudId == id).ExecuteDeleteAsync(cancellationToken);
        await db.Matches.Where(m => m.CloudId == id).ExecuteDeleteAsync(cancellationToken);
        db.Clouds.Remove(cloud);
        Audit.Record(db, http, "cloud.delete", id, new { cloud.Name }, time.GetUtcNow());
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<RematchReport>, ProblemHttpResult>> RematchAsync(
        ImprintDb db, string id, HttpContext http, RematchService rematch, CancellationToken cancellationToken)
    {
        if (!await db.Clouds.AnyAsync(c => c.Id == id, cancellationToken))
            return Problems.NotFound($"no cloud {id}");
        var report = await rematch.RematchCloudAsync(http.User.AccountId(), id, cancellationToken);
        if (report is null)
            return Problems.NotFound($"no cloud {id}");
        await RecordRematchAsync(db, http, report, cancellationToken);
        return TypedResults.Ok(report);
    }

    /// <summary>A rematch changes generated settings: the audit says who asked and what it changed, in numbers.</summary>
    internal static async Task RecordRematchAsync(ImprintDb db, HttpContext http, RematchReport report, CancellationToken cancellationToken)
    {
        Audit.Record(db, http, "cloud.rematch", report.CloudId, new
        {
            report.Status,
            settingsCreated = report.Settings.Created.Count,
            settingsUpdated = report.Settings.Updated.Count,
            settingsDestroyed = report.Settings.Destroyed.Count,
            matchesChanged = report.Matches.Changed.Count,
        }, report.FinishedAt);
        await db.SaveChangesAsync(cancellationToken);
    }

    private static async Task<Results<Ok<Page<ImageResponse>>, ValidationProblem, ProblemHttpResult>> ImagesAsync(
        ImprintDb db, string id, string? name, string? digest, string? uid, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        if (Paging.Check(limit, out var take) is { } problem)
            return problem;
        if (!await db.Clouds.AnyAsync(c => c.Id == id, cancellationToken))
            return Problems.NotFound($"no cloud {id}");
        var query = db.Images.AsNoTracking().Where(i => i.CloudId == id);
        if (!string.IsNullOrEmpty(name))
            query = query.Where(i => i.Name.ToLower().Contains(name.ToLower()));
        if (!string.IsNullOrEmpty(uid))
            query = query.Where(i => i.Uid == uid);
        if (!string.IsNullOrEmpty(digest))
        {
            var parsed = Digest.Parse(digest);
            if (!parsed.Success)
                return Problems.Invalid("digest", parsed.Error);
            var text = parsed.Value.ToString();
            query = query.Where(i => i.Digests.Contains(text));
        }
        long after = 0;
        if (!string.IsNullOrEmpty(cursor) && !long.TryParse(cursor, out after))
            return Problems.Invalid("cursor", "is not a cursor of this list");
        var rows = await query.Where(i => i.Id > after).OrderBy(i => i.Id).Take(take + 1).ToListAsync(cancellationToken);
        var next = rows.Count > take ? rows[take - 1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        return TypedResults.Ok(new Page<ImageResponse>(rows.Take(take).Select(ImageResponse.From).ToList(), next));
    }
}

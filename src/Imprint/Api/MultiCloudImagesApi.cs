using System.Text.Json;
using Imprint.Auth;
using Imprint.Core.Catalog;
using Imprint.Core.Digests;
using Imprint.Rematch;
using Imprint.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Api;

internal sealed record MciRequest(string? Name, string? Description);

internal sealed record CommitRequest(string? Message);

internal sealed record CloneRequest(string? Name);

internal sealed record MciResponse(string Id, string Href, string Name, string? Description, int Revision, string Lineage,
    string? CommitMessage, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static MciResponse From(MultiCloudImage m) => new(m.Id, $"/api/multi-cloud-images/{m.Id}", m.Name, m.Description, m.Revision,
        m.Lineage, m.CommitMessage, m.CreatedAt, m.UpdatedAt);
}

internal sealed record SettingRequest(string? CloudId, string? ImageUid, string? InstanceType, string? UserData);

internal sealed record SettingResponse(string Id, string Href, string CloudId, string ImageUid, string? InstanceType, string? UserData, string? GeneratedBy)
{
    public static SettingResponse From(Setting s) => new(s.Id, $"/api/multi-cloud-images/{s.MciId}/settings/{s.Id}", s.CloudId, s.ImageUid,
        s.InstanceType, s.UserData, s.GeneratedBy);
}

/// <param name="VirtualSize">The virtual disk size in bytes of the image the fingerprint was made from (as <c>imprint fingerprint --json</c>
/// prints it), or null when unknown.</param>
internal sealed record MatcherRequest(string? CloudKind, IReadOnlyList<string?>? Fingerprint, string? ImageName, string? UserData, long? VirtualSize = null);

internal sealed record MatcherResponse(string Id, string Href, string CloudKind, IReadOnlyList<string> Fingerprint, long? VirtualSize, string? ImageName,
    string? UserData)
{
    public static MatcherResponse From(Matcher m) => new(m.Id, $"/api/multi-cloud-images/{m.MciId}/matchers/{m.Id}", m.CloudKind,
        m.Fingerprint.Split(' '), m.VirtualSize, m.ImageName, m.UserData);
}

internal sealed record ImageLink(string Uid, string Name, string Href, string? ConsoleUrl);

internal sealed record CandidateResponse(string Uid, string Name, string Evidence, bool Chosen);

/// <param name="Fingerprint">The matcher's digests (what to upload when nothing matches), or null for a hand-written setting.</param>
/// <param name="VirtualSize">The virtual size of the image the matcher's fingerprint was made from, when known.</param>
internal sealed record ImageMapEntry(string CloudId, string CloudName, string CloudKind, string Status, ImageLink? Image,
    IReadOnlyList<CandidateResponse> Candidates, string? Rule, string? Reason, IReadOnlyList<string>? Fingerprint, long? VirtualSize,
    string? AdminContact, DateTimeOffset? LastCheckedAt, string? Error, DateTimeOffset? LastReachedAt);

internal sealed record ImageMapResponse(string MciId, string MciName, IReadOnlyList<ImageMapEntry> Clouds);

/// <summary>MultiCloud Images: revisions, settings, matchers, the image map and rematch.</summary>
internal static class MultiCloudImagesApi
{
    public static RouteGroupBuilder MapMultiCloudImagesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/multi-cloud-images").WithTags("MultiCloud Images").RequireAuthorization(Policies.Read);
        group.MapGet("/", ListAsync);
        group.MapPost("/", CreateAsync).RequireAuthorization(Policies.Design);
        group.MapGet("/{id}", GetAsync);
        group.MapPatch("/{id}", UpdateAsync).RequireAuthorization(Policies.Design);
        group.MapDelete("/{id}", DeleteAsync).RequireAuthorization(Policies.Design);
        group.MapPost("/{id}/commit", CommitAsync).RequireAuthorization(Policies.Design);
        group.MapPost("/{id}/clone", CloneAsync).RequireAuthorization(Policies.Design);
        group.MapGet("/{id}/settings", ListSettingsAsync);
        group.MapPost("/{id}/settings", CreateSettingAsync).RequireAuthorization(Policies.Design);
        group.MapGet("/{id}/settings/{sid}", GetSettingAsync);
        group.MapPatch("/{id}/settings/{sid}", UpdateSettingAsync).RequireAuthorization(Policies.Design);
        group.MapDelete("/{id}/settings/{sid}", DeleteSettingAsync).RequireAuthorization(Policies.Design);
        group.MapGet("/{id}/matchers", ListMatchersAsync);
        group.MapPost("/{id}/matchers", CreateMatcherAsync).RequireAuthorization(Policies.Design);
        group.MapGet("/{id}/matchers/{mid}", GetMatcherAsync);
        group.MapDelete("/{id}/matchers/{mid}", DeleteMatcherAsync).RequireAuthorization(Policies.Design);
        group.MapPost("/{id}/matchers/{mid}/rematch", RematchMatcherAsync).RequireAuthorization(Policies.ManageClouds);
        group.MapGet("/{id}/image-map", ImageMapAsync);
        group.MapPost("/{id}/rematch", RematchAsync).RequireAuthorization(Policies.ManageClouds);
        return group;
    }

    private static async Task<Results<Ok<Page<MciResponse>>, ValidationProblem>> ListAsync(ImprintDb db, int? limit, string? cursor, string? name, int? revision, CancellationToken cancellationToken)
    {
        if (Paging.Check(limit, out var take) is { } problem)
            return problem;
        var query = db.MultiCloudImages.AsNoTracking();
        if (!string.IsNullOrEmpty(name))
            query = query.Where(m => m.Name.ToLower().Contains(name.ToLower()));
        if (revision is { } r)
            query = query.Where(m => m.Revision == r);
        return TypedResults.Ok(await Paging.PageAsync(query, m => m.Id, cursor, take, MciResponse.From, cancellationToken));
    }

    private static async Task<Results<Ok<MciResponse>, ProblemHttpResult>> GetAsync(ImprintDb db, string id, CancellationToken cancellationToken)
    {
        var mci = await db.MultiCloudImages.AsNoTracking().SingleOrDefaultAsync(m => m.Id == id, cancellationToken);
        return mci is null ? Problems.NotFound($"no MultiCloud Image {id}") : TypedResults.Ok(MciResponse.From(mci));
    }

    private static async Task<Results<Created<MciResponse>, ValidationProblem>> CreateAsync(ImprintDb db, MciRequest request, HttpContext http, TimeProvider time, CancellationToken cancellationToken)
    {
        var check = Revisions.CheckNameAndDescription(request.Name, request.Description, creating: true);
        if (!check.IsValid)
            return check.Problem();
        var now = time.GetUtcNow();
        var mci = new MultiCloudImage
        {
            Id = Ids.New("mci", time),
            AccountId = http.User.AccountId(),
            Lineage = Ids.New("lin", time),
            Name = request.Name!.Trim(),
            Description = request.Description,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.MultiCloudImages.Add(mci);
        Audit.Record(db, http, "mci.create", mci.Id, new { mci.Name }, now);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created(MciResponse.From(mci).Href, MciResponse.From(mci));
    }

    private static async Task<Results<Ok<MciResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        ImprintDb db, string id, MciRequest request, HttpContext http, TimeProvider time, CancellationToken cancellationToken)
    {
        var (mci, refused) = await EditableAsync(db, id, cancellationToken);
        if (refused is not null)
            return refused;
        var check = Revisions.CheckNameAndDescription(request.Name, request.Description, creating: false);
        if (!check.IsValid)
            return check.Problem();
        Revisions.Edit(mci, request.Name, request.Description, time.GetUtcNow());
        Audit.Record(db, http, "mci.update", mci.Id, new { mci.Name }, mci.UpdatedAt);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(MciResponse.From(mci));
    }

    private const string What = "MultiCloud Image";

    private static Task<(MultiCloudImage Mci, ProblemHttpResult? Refused)> EditableAsync(ImprintDb db, string id, CancellationToken cancellationToken) =>
        Revisions.EditableAsync(db.MultiCloudImages, id, What, cancellationToken);

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(ImprintDb db, string id, HttpContext http, TimeProvider time, CancellationToken cancellationToken)
    {
        var mci = await db.MultiCloudImages.SingleOrDefaultAsync(m => m.Id == id, cancellationToken);
        if (mci is null)
            return Problems.NotFound($"no MultiCloud Image {id}");
        var usedBy = await db.ServerTemplateMcis.Where(l => l.MciId == id).Select(l => l.ServerTemplateId).FirstOrDefaultAsync(cancellationToken);
        if (usedBy is not null)
            return Problems.Conflict($"MultiCloud Image {id} is used by ServerTemplate {usedBy}: remove it from the template first");
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.Settings.Where(s => s.MciId == id).ExecuteDeleteAsync(cancellationToken);
        await db.Matchers.Where(m => m.MciId == id).ExecuteDeleteAsync(cancellationToken);
        await db.Matches.Where(m => m.MciId == id).ExecuteDeleteAsync(cancellationToken);
        db.MultiCloudImages.Remove(mci);
        Audit.Record(db, http, "mci.delete", id, new { mci.Name, mci.Revision }, time.GetUtcNow());
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Created<MciResponse>, ValidationProblem, ProblemHttpResult>> CommitAsync(
        ImprintDb db, string id, CommitRequest? request, HttpContext http, TimeProvider time, RematchService rematch, CancellationToken cancellationToken)
    {
        var head = await db.MultiCloudImages.SingleOrDefaultAsync(m => m.Id == id, cancellationToken);
        if (head is null)
            return Problems.NotFound($"no MultiCloud Image {id}");
        if (!head.IsHead)
            return Revisions.CommittedConflict(head, What);
        if (request?.Message is { Length: > 4000 })
            return Problems.Invalid("message", "must be at most 4000 characters");
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var revision = await Revisions.CommitMciAsync(db, head, request?.Message, time, cancellationToken);
        Audit.Record(db, http, "mci.commit", revision.Id, new { head = head.Id, revision.Revision, request?.Message }, revision.CreatedAt);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await Revisions.RecomputeForAsync(db, rematch, head.AccountId, [revision.Id], cancellationToken);
        return TypedResults.Created(MciResponse.From(revision).Href, MciResponse.From(revision));
    }

    private static async Task<Results<Created<MciResponse>, ValidationProblem, ProblemHttpResult>> CloneAsync(
        ImprintDb db, string id, CloneRequest? request, HttpContext http, TimeProvider time, RematchService rematch, CancellationToken cancellationToken)
    {
        var source = await db.MultiCloudImages.SingleOrDefaultAsync(m => m.Id == id, cancellationToken);
        if (source is null)
            return Problems.NotFound($"no MultiCloud Image {id}");
        var check = new Validation();
        var name = request?.Name is null ? $"{source.Name} (copy)" : check.Required("name", request.Name, 100);
        if (!check.IsValid)
            return check.Problem();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var clone = await Revisions.CopyMciAsync(db, source, name!, Ids.New("lin", time), 0, null, time, cancellationToken);
        Audit.Record(db, http, "mci.clone", clone.Id, new { source = source.Id, clone.Name }, clone.CreatedAt);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await Revisions.RecomputeForAsync(db, rematch, source.AccountId, [clone.Id], cancellationToken);
        return TypedResults.Created(MciResponse.From(clone).Href, MciResponse.From(clone));
    }

    private static async Task<Results<Ok<Page<SettingResponse>>, ValidationProblem, ProblemHttpResult>> ListSettingsAsync(
        ImprintDb db, string id, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        if (Paging.Check(limit, out var take) is { } problem)
            return problem;
        if (!await db.MultiCloudImages.AnyAsync(m => m.Id == id, cancellationToken))
            return Problems.NotFound($"no MultiCloud Image {id}");
        return TypedResults.Ok(await Paging.PageAsync(db.Settings.AsNoTracking().Where(s => s.MciId == id), s => s.Id, cursor, take, SettingResponse.From, cancellationToken));
    }

    private static async Task<Results<Ok<SettingResponse>, ProblemHttpResult>> GetSettingAsync(ImprintDb db, string id, string sid, CancellationToken cancellationToken)
    {
        var setting = await db.Settings.AsNoTracking().SingleOrDefaultAsync(s => s.Id == sid && s.MciId == id, cancellationToken);
        return setting is null ? Problems.NotFound($"no setting {sid} in MultiCloud Image {id}") : TypedResults.Ok(SettingResponse.From(setting));
    }

    private static async Task<Results<Created<SettingResponse>, ValidationProblem, ProblemHttpResult>> CreateSettingAsync(
        ImprintDb db, string id, SettingRequest request, HttpContext http, TimeProvider time, RematchService rematch, CancellationToken cancellationToken)
    {
        var (mci, refused) = await EditableAsync(db, id, cancellationToken);
        if (refused is not null)
            return refused;
        var check = new Validation();
        var cloudId = check.Required("cloudId", request.CloudId, 100);
        var imageUid = check.Required("imageUid", request.ImageUid, 1000);
        check.Length("instanceType", request.InstanceType, 100);
        check.Length("userData", request.UserData, 64 * 1024);
        if (!check.IsValid)
            return check.Problem();
        if (!await db.Clouds.AnyAsync(c => c.Id == cloudId, cancellationToken))
            return Problems.Invalid("cloudId", $"no cloud {cloudId}");
        var existing = await db.Settings.SingleOrDefaultAsync(s => s.MciId == id && s.CloudId == cloudId, cancellationToken);
        if (existing is { GeneratedBy: null })
            return Problems.Conflict($"MultiCloud Image {id} already has setting {existing.Id} for cloud {cloudId}: change that one");

        var now = time.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (existing is not null)
            db.Settings.Remove(existing); // a hand-written setting pins the image: it replaces the generated one
        var setting = new Setting
        {
            Id = Ids.New("set", time),
            AccountId = mci.AccountId,
            MciId = id,
            CloudId = cloudId!,
            ImageUid = imageUid!,
            InstanceType = request.InstanceType,
            UserData = request.UserData,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Settings.Add(setting);
        Audit.Record(db, http, "setting.create", setting.Id, new { mci = id, setting.CloudId, setting.ImageUid }, now);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await rematch.RecomputeAsync(mci.AccountId, [setting.CloudId], cancellationToken);
        return TypedResults.Created(SettingResponse.From(setting).Href, SettingResponse.From(setting));
    }

    private static async Task<Results<Ok<SettingResponse>, ValidationProblem, ProblemHttpResult>> UpdateSettingAsync(
        ImprintDb db, string id, string sid, SettingRequest request, HttpContext http, TimeProvider time, RematchService rematch, CancellationToken cancellationToken)
    {
        var mci = await db.MultiCloudImages.SingleOrDefaultAsync(m => m.Id == id, cancellationToken);
        var setting = await db.Settings.SingleOrDefaultAsync(s => s.Id == sid && s.MciId == id, cancellationToken);
        if (mci is null || setting is null)
            return Problems.NotFound($"no setting {sid} in MultiCloud Image {id}");
        if (!mci.IsHead)
            return Revisions.CommittedConflict(mci, What);
        if (setting.GeneratedBy is not null)
            return Problems.Conflict($"setting {sid} was generated by matcher {setting.GeneratedBy}: change the matcher, or add a hand-written setting to pin an image");
        var check = new Validation();
        if (request.CloudId is not null && request.CloudId != setting.CloudId)
            check.Add("cloudId", "a setting's cloud cannot change: delete it and add another");
        if (request.ImageUid is not null)
            check.Required("imageUid", request.ImageUid, 1000);
        check.Length("instanceType", request.InstanceType, 100);
        check.Length("userData", request.UserData, 64 * 1024);
        if (!check.IsValid)
            return check.Problem();
        setting.ImageUid = request.ImageUid?.Trim() ?? setting.ImageUid;
        setting.InstanceType = request.InstanceType ?? setting.InstanceType;
        setting.UserData = request.UserData ?? setting.UserData;
        setting.UpdatedAt = time.GetUtcNow();
        Audit.Record(db, http, "setting.update", sid, new { setting.ImageUid, setting.InstanceType }, setting.UpdatedAt);
        await db.SaveChangesAsync(cancellationToken);
        await rematch.RecomputeAsync(mci.AccountId, [setting.CloudId], cancellationToken);
        return TypedResults.Ok(SettingResponse.From(setting));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteSettingAsync(
        ImprintDb db, string id, string sid, HttpContext http, TimeProvider time, RematchService rematch, CancellationToken cancellationToken)
    {
        var mci = await db.MultiCloudImages.SingleOrDefaultAsync(m => m.Id == id, cancellationToken);
        var setting = await db.Settings.SingleOrDefaultAsync(s => s.Id == sid && s.MciId == id, cancellationToken);
        if (mci is null || setting is null)
            return Problems.NotFound($"no setting {sid} in MultiCloud Image {id}");
        if (!mci.IsHead)
            return Revisions.CommittedConflict(mci, What);
        db.Settings.Remove(setting);
        Audit.Record(db, http, "setting.delete", sid, new { setting.CloudId, setting.ImageUid }, time.GetUtcNow());
        await db.SaveChangesAsync(cancellationToken);
        await rematch.RecomputeAsync(mci.AccountId, [setting.CloudId], cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<Page<MatcherResponse>>, ValidationProblem, ProblemHttpResult>> ListMatchersAsync(
        ImprintDb db, string id, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        if (Paging.Check(limit, out var take) is { } problem)
            return problem;
        if (!await db.MultiCloudImages.AnyAsync(m => m.Id == id, cancellationToken))
            return Problems.NotFound($"no MultiCloud Image {id}");
        return TypedResults.Ok(await Paging.PageAsync(db.Matchers.AsNoTracking().Where(m => m.MciId == id), m => m.Id, cursor, take, MatcherResponse.From, cancellationToken));
    }

    private static async Task<Results<Ok<MatcherResponse>, ProblemHttpResult>> GetMatcherAsync(ImprintDb db, string id, string mid, CancellationToken cancellationToken)
    {
        var matcher = await db.Matchers.AsNoTracking().SingleOrDefaultAsync(m => m.Id == mid && m.MciId == id, cancellationToken);
        return matcher is null ? Problems.NotFound($"no matcher {mid} in MultiCloud Image {id}") : TypedResults.Ok(MatcherResponse.From(matcher));
    }

    private static async Task<Results<Created<MatcherResponse>, ValidationProblem, ProblemHttpResult>> CreateMatcherAsync(
        ImprintDb db, string id, MatcherRequest request, HttpContext http, TimeProvider time, RematchService rematch, CancellationToken cancellationToken)
    {
        var (mci, refused) = await EditableAsync(db, id, cancellationToken);
        if (refused is not null)
            return refused;
        var check = new Validation();
        var kind = check.Required("cloudKind", request.CloudKind, 40);
        if (kind is not null && !CloudKinds.All.Contains(kind))
            check.Add("cloudKind", $"unknown cloud kind '{kind}': use one of {string.Join(", ", CloudKinds.All)}");
        var fingerprint = Fingerprint.Parse(request.Fingerprint);
        if (request.Fingerprint is { Count: > 16 })
            check.Add("fingerprint", "at most 16 digests");
        else if (!fingerprint.Success)
            check.Add("fingerprint", fingerprint.Error);
        if (request.VirtualSize is <= 0)
            check.Add("virtualSize", $"must be a positive number of bytes, not {request.VirtualSize}");
        check.Length("imageName", request.ImageName, 255);
        check.Length("userData", request.UserData, 64 * 1024);
        if (!check.IsValid)
            return check.Problem();
        if (await db.Matchers.AnyAsync(m => m.MciId == id && m.CloudKind == kind, cancellationToken))
            return Problems.Conflict($"MultiCloud Image {id} already has a matcher for {kind} clouds: delete it first");

        var now = time.GetUtcNow();
        var matcher = new Matcher
        {
            Id = Ids.New("mat", time),
            AccountId = mci.AccountId,
            MciId = id,
            CloudKind = kind!,
            Fingerprint = fingerprint.Value!.ToString(),
            VirtualSize = request.VirtualSize,
            ImageName = string.IsNullOrWhiteSpace(request.ImageName) ? null : request.ImageName.Trim(),
            UserData = request.UserData,
            CreatedAt = now,
        };
        db.Matchers.Add(matcher);
        Audit.Record(db, http, "matcher.create", matcher.Id, new { mci = id, matcher.CloudKind, matcher.Fingerprint, matcher.VirtualSize }, now);
        await db.SaveChangesAsync(cancellationToken);
        // Match at once against the last good inventories; a rematch asks the clouds themselves.
        await rematch.RecomputeKindAsync(mci.AccountId, matcher.CloudKind, cancellationToken);
        return TypedResults.Created(MatcherResponse.From(matcher).Href, MatcherResponse.From(matcher));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteMatcherAsync(
        ImprintDb db, string id, string mid, HttpContext http, TimeProvider time, RematchService rematch, CancellationToken cancellationToken)
    {
        var mci = await db.MultiCloudImages.SingleOrDefaultAsync(m => m.Id == id, cancellationToken);
        var matcher = await db.Matchers.SingleOrDefaultAsync(m => m.Id == mid && m.MciId == id, cancellationToken);
        if (mci is null || matcher is null)
            return Problems.NotFound($"no matcher {mid} in MultiCloud Image {id}");
        if (!mci.IsHead)
            return Revisions.CommittedConflict(mci, What);
        db.Matchers.Remove(matcher);
        Audit.Record(db, http, "matcher.delete", mid, new { matcher.CloudKind, matcher.Fingerprint }, time.GetUtcNow());
        await db.SaveChangesAsync(cancellationToken);
        await rematch.RecomputeKindAsync(mci.AccountId, matcher.CloudKind, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<List<RematchReport>>, ProblemHttpResult>> RematchMatcherAsync(
        ImprintDb db, string id, string mid, HttpContext http, RematchService rematch, CancellationToken cancellationToken)
    {
        var matcher = await db.Matchers.AsNoTracking().SingleOrDefaultAsync(m => m.Id == mid && m.MciId == id, cancellationToken);
        if (matcher is null)
            return Problems.NotFound($"no matcher {mid} in MultiCloud Image {id}");
        var clouds = await db.Clouds.Where(c => c.Kind == matcher.CloudKind).Select(c => c.Id).ToListAsync(cancellationToken);
        return TypedResults.Ok(await RematchAllAsync(db, http, rematch, clouds, cancellationToken));
    }

    private static async Task<Results<Ok<List<RematchReport>>, ProblemHttpResult>> RematchAsync(
        ImprintDb db, string id, HttpContext http, RematchService rematch, CancellationToken cancellationToken)
    {
        if (!await db.MultiCloudImages.AnyAsync(m => m.Id == id, cancellationToken))
            return Problems.NotFound($"no MultiCloud Image {id}");
        var clouds = await TouchedCloudsAsync(db, [id], cancellationToken);
        return TypedResults.Ok(await RematchAllAsync(db, http, rematch, clouds.Select(c => c.Id), cancellationToken));
    }

    internal static async Task<List<RematchReport>> RematchAllAsync(ImprintDb db, HttpContext http, RematchService rematch, IEnumerable<string> cloudIds, CancellationToken cancellationToken)
    {
        var reports = new List<RematchReport>();
        foreach (var cloudId in cloudIds)
        {
            if (await rematch.RematchCloudAsync(http.User.AccountId(), cloudId, cancellationToken) is { } report)
            {
                reports.Add(report);
                await CloudsApi.RecordRematchAsync(db, http, report, cancellationToken);
            }
        }
        return reports;
    }

    /// <summary>The clouds that a setting or a matcher of these MCIs applies to, by name.</summary>
    internal static async Task<List<Cloud>> TouchedCloudsAsync(ImprintDb db, IReadOnlyCollection<string> mciIds, CancellationToken cancellationToken)
    {
        var settingClouds = db.Settings.Where(s => mciIds.Contains(s.MciId)).Select(s => s.CloudId);
        var kinds = db.Matchers.Where(m => mciIds.Contains(m.MciId)).Select(m => m.CloudKind);
        return await db.Clouds.AsNoTracking()
            .Where(c => settingClouds.Contains(c.Id) || kinds.Contains(c.Kind))
            .OrderBy(c => c.Name)
            .ToListAsync(cancellationToken);
    }

    private static async Task<Results<Ok<ImageMapResponse>, ProblemHttpResult>> ImageMapAsync(ImprintDb db, string id, CancellationToken cancellationToken)
    {
        var mci = await db.MultiCloudImages.AsNoTracking().SingleOrDefaultAsync(m => m.Id == id, cancellationToken);
        if (mci is null)
            return Problems.NotFound($"no MultiCloud Image {id}");
        var maps = await ImageMaps.BuildAsync(db, [mci], cancellationToken);
        return TypedResults.Ok(maps[0]);
    }
}

/// <summary>Builds image maps from the stored matches.</summary>
internal static class ImageMaps
{
    public static async Task<List<ImageMapResponse>> BuildAsync(ImprintDb db, IReadOnlyList<MultiCloudImage> mcis, CancellationToken cancellationToken)
    {
        var ids = mcis.Select(m => m.Id).ToList();
        var clouds = await MultiCloudImagesApi.TouchedCloudsAsync(db, ids, cancellationToken);
        var cloudIds = clouds.Select(c => c.Id).ToList();
        var records = (await db.Matches.AsNoTracking().Where(r => ids.Contains(r.MciId)).ToListAsync(cancellationToken))
            .ToDictionary(r => (r.MciId, r.CloudId));
        var matchers = (await db.Matchers.AsNoTracking().Where(m => ids.Contains(m.MciId)).ToListAsync(cancellationToken))
            .ToDictionary(m => (m.MciId, m.CloudKind));
        var chosenUids = records.Values.Where(r => r.ImageUid != null).Select(r => r.ImageUid).Distinct().ToList();
        var images = await db.Images.AsNoTracking()
            .Where(i => cloudIds.Contains(i.CloudId) && chosenUids.Contains(i.Uid))
            .Select(i => new { i.CloudId, i.Uid, i.Href, i.ConsoleUrl })
            .ToListAsync(cancellationToken);
        var links = images.ToDictionary(i => (i.CloudId, i.Uid), i => (i.Href, i.ConsoleUrl));

        var maps = new List<ImageMapResponse>();
        foreach (var mci in mcis)
        {
            var entries = new List<ImageMapEntry>();
            foreach (var cloud in clouds)
            {
                var record = records.GetValueOrDefault((mci.Id, cloud.Id));
                var matcher = matchers.GetValueOrDefault((mci.Id, cloud.Kind));
                if (record is null)
                {
                    if (matcher is null)
                        continue; // neither a setting nor a matcher of this MCI applies here
                    entries.Add(new ImageMapEntry(cloud.Id, cloud.Name, cloud.Kind, "no-match", null, [], null,
                        $"{cloud.Name} has not been matched yet: rematch it", matcher.Fingerprint.Split(' '), matcher.VirtualSize, cloud.AdminContact, null,
                        cloud.LastSyncError, cloud.LastSyncSucceededAt));
                    continue;
                }
                ImageLink? image = null;
                if (record.ImageUid is { } uid)
                {
                    var (href, console) = links.GetValueOrDefault((cloud.Id, uid));
                    image = new ImageLink(uid, record.ImageName ?? uid,
                        href ?? $"/api/clouds/{cloud.Id}/images?uid={Uri.EscapeDataString(uid)}", console);
                }
                var candidates = JsonSerializer.Deserialize<List<StoredCandidate>>(record.Candidates) ?? [];
                var fromMatcher = record.MatcherId is null ? null : matcher;
                entries.Add(new ImageMapEntry(cloud.Id, cloud.Name, cloud.Kind, record.Status, image,
                    candidates.Select(c => new CandidateResponse(c.Uid, c.Name, c.Evidence, c.Chosen)).ToList(),
                    record.Rule, record.Reason, fromMatcher?.Fingerprint.Split(' '), fromMatcher?.VirtualSize, cloud.AdminContact, LastChecked(record, cloud),
                    cloud.LastSyncError, cloud.LastSyncSucceededAt));
            }
            maps.Add(new ImageMapResponse(mci.Id, mci.Name, entries));
        }
        return maps;
    }

    /// <summary>
    /// When this (MCI, cloud) was last checked: the later of its record's last change and the cloud's last sync attempt
    /// (a rematch that finds what the last one found does not rewrite the record).
    /// </summary>
    private static DateTimeOffset LastChecked(MatchRecord record, Cloud cloud) =>
        cloud.LastSyncAttemptAt is { } attempt && attempt > record.ChangedAt ? attempt : record.ChangedAt;
}

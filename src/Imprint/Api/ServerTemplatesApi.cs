using Imprint.Auth;
using Imprint.Core.Catalog;
using Imprint.Rematch;
using Imprint.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Api;

internal sealed record ServerTemplateRequest(string? Name, string? Description);

internal sealed record ServerTemplateResponse(string Id, string Href, string Name, string? Description, int Revision, string Lineage,
    string? CommitMessage, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static ServerTemplateResponse From(ServerTemplate t) => new(t.Id, $"/api/server-templates/{t.Id}", t.Name, t.Description,
        t.Revision, t.Lineage, t.CommitMessage, t.CreatedAt, t.UpdatedAt);
}

internal sealed record TemplateMciRequest(string? MciId, bool? IsDefault);

internal sealed record TemplateMciResponse(string MciId, string Href, string Name, int Revision, bool IsDefault);

internal sealed record TemplateImageMap(string MciId, string MciName, bool IsDefault, IReadOnlyList<ImageMapEntry> Clouds);

internal sealed record LaunchableCloud(string CloudId, string CloudName, bool Launchable, string? MciId, string? ImageUid, string Reason);

internal sealed record TemplateImageMapResponse(string ServerTemplateId, IReadOnlyList<TemplateImageMap> MultiCloudImages, IReadOnlyList<LaunchableCloud> Clouds);

/// <summary>ServerTemplates: revisions, their MCIs with exactly one default, and where they can launch.</summary>
internal static class ServerTemplatesApi
{
    public static RouteGroupBuilder MapServerTemplatesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/server-templates").WithTags("ServerTemplates").RequireAuthorization(Policies.Read);
        group.MapGet("/", ListAsync);
        group.MapPost("/", CreateAsync).RequireAuthorization(Policies.Design);
        group.MapGet("/{id}", GetAsync);
        group.MapPatch("/{id}", UpdateAsync).RequireAuthorization(Policies.Design);
        group.MapDelete("/{id}", DeleteAsync).RequireAuthorization(Policies.Design);
        group.MapPost("/{id}/commit", CommitAsync).RequireAuthorization(Policies.Design);
        group.MapPost("/{id}/clone", CloneAsync).RequireAuthorization(Policies.Design);
        group.MapGet("/{id}/multi-cloud-images", ListMcisAsync);
        group.MapPost("/{id}/multi-cloud-images", AddMciAsync).RequireAuthorization(Policies.Design);
        group.MapDelete("/{id}/multi-cloud-images/{mciId}", RemoveMciAsync).RequireAuthorization(Policies.Design);
        group.MapPost("/{id}/multi-cloud-images/{mciId}/make-default", MakeDefaultAsync).RequireAuthorization(Policies.Design);
        group.MapGet("/{id}/image-map", ImageMapAsync);
        return group;
    }

    private const string What = "ServerTemplate";

    private static Task<(ServerTemplate Template, ProblemHttpResult? Refused)> EditableAsync(ImprintDb db, string id, CancellationToken cancellationToken) =>
        Revisions.EditableAsync(db.ServerTemplates, id, What, cancellationToken);

    private static async Task<Results<Ok<Page<ServerTemplateResponse>>, ValidationProblem>> ListAsync(ImprintDb db, int? limit, string? cursor, string? name, int? revision, CancellationToken cancellationToken)
    {
        if (Paging.Check(limit, out var take) is { } problem)
            return problem;
        var query = db.ServerTemplates.AsNoTracking();
        if (!string.IsNullOrEmpty(name))
            query = query.Where(t => t.Name.ToLower().Contains(name.ToLower()));
        if (revision is { } r)
            query = query.Where(t => t.Revision == r);
        return TypedResults.Ok(await Paging.PageAsync(query, t => t.Id, cursor, take, ServerTemplateResponse.From, cancellationToken));
    }

    private static async Task<Results<Ok<ServerTemplateResponse>, ProblemHttpResult>> GetAsync(ImprintDb db, string id, CancellationToken cancellationToken)
    {
        var template = await db.ServerTemplates.AsNoTracking().SingleOrDefaultAsync(t => t.Id == id, cancellationToken);
        return template is null ? Problems.NotFound($"no ServerTemplate {id}") : TypedResults.Ok(ServerTemplateResponse.From(template));
    }

    private static async Task<Results<Created<ServerTemplateResponse>, ValidationProblem>> CreateAsync(
        ImprintDb db, ServerTemplateRequest request, HttpContext http, TimeProvider time, CancellationToken cancellationToken)
    {
        var check = Revisions.CheckNameAndDescription(request.Name, request.Description, creating: true);
        if (!check.IsValid)
            return check.Problem();
        var now = time.GetUtcNow();
        var template = new ServerTemplate
        {
            Id = Ids.New("st", time),
            AccountId = http.User.AccountId(),
            Lineage = Ids.New("lin", time),
            Name = request.Name!.Trim(),
            Description = request.Description,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.ServerTemplates.Add(template);
        Audit.Record(db, http, "server-template.create", template.Id, new { template.Name }, now);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created(ServerTemplateResponse.From(template).Href, ServerTemplateResponse.From(template));
    }

    private static async Task<Results<Ok<ServerTemplateResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        ImprintDb db, string id, ServerTemplateRequest request, HttpContext http, TimeProvider time, CancellationToken cancellationToken)
    {
        var (template, refused) = await EditableAsync(db, id, cancellationToken);
        if (refused is not null)
            return refused;
        var check = Revisions.CheckNameAndDescription(request.Name, request.Description, creating: false);
        if (!check.IsValid)
            return check.Problem();
        Revisions.Edit(template, request.Name, request.Description, time.GetUtcNow());
        Audit.Record(db, http, "server-template.update", id, new { template.Name }, template.UpdatedAt);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(ServerTemplateResponse.From(template));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(ImprintDb db, string id, HttpContext http, TimeProvider time, CancellationToken cancellationToken)
    {
        var template = await db.ServerTemplates.SingleOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (template is null)
            return Problems.NotFound($"no ServerTemplate {id}");
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.ServerTemplateMcis.Where(l => l.ServerTemplateId == id).ExecuteDeleteAsync(cancellationToken);
        db.ServerTemplates.Remove(template);
        Audit.Record(db, http, "server-template.delete", id, new { template.Name, template.Revision }, time.GetUtcNow());
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Created<ServerTemplateResponse>, ValidationProblem, ProblemHttpResult>> CommitAsync(
        ImprintDb db, string id, CommitRequest? request, HttpContext http, TimeProvider time, RematchService rematch, CancellationToken cancellationToken)
    {
        var head = await db.ServerTemplates.SingleOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (head is null)
            return Problems.NotFound($"no ServerTemplate {id}");
        if (!head.IsHead)
            return Revisions.CommittedConflict(head, What);
        if (request?.Message is { Length: > 4000 })
            return Problems.Invalid("message", "must be at most 4000 characters");
        var links = await db.ServerTemplateMcis.Where(l => l.ServerTemplateId == id).ToListAsync(cancellationToken);
        if (links.Count == 0)
            return Problems.Conflict($"ServerTemplate {id} has no MultiCloud Image: add one before committing");

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // A committed template must point at committed MCIs: its HEAD MCIs are committed with it.
        var mciIds = links.Select(l => l.MciId).ToList();
        var heads = await db.MultiCloudImages.Where(m => mciIds.Contains(m.Id) && m.Revision == 0).ToListAsync(cancellationToken);
        var committed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var mciHead in heads)
        {
            var revision = await Revisions.CommitMciAsync(db, mciHead, request?.Message ?? $"committed with ServerTemplate {head.Name}", time, cancellationToken);
            committed[mciHead.Id] = revision.Id;
        }
        var last = await db.ServerTemplates.Where(t => t.Lineage == head.Lineage).MaxAsync(t => t.Revision, cancellationToken);
        var copy = await Revisions.CopyTemplateAsync(db, head, head.Name, head.Lineage, last + 1, request?.Message,
            mciId => committed.GetValueOrDefault(mciId, mciId), time, cancellationToken);
        Audit.Record(db, http, "server-template.commit", copy.Id, new { head = id, copy.Revision, mcis = committed }, copy.CreatedAt);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await Revisions.RecomputeForAsync(db, rematch, head.AccountId, committed.Values.ToList(), cancellationToken);
        return TypedResults.Created(ServerTemplateResponse.From(copy).Href, ServerTemplateResponse.From(copy));
    }

    private static async Task<Results<Created<ServerTemplateResponse>, ValidationProblem, ProblemHttpResult>> CloneAsync(
        ImprintDb db, string id, CloneRequest? request, HttpContext http, TimeProvider time, CancellationToken cancellationToken)
    {
        var source = await db.ServerTemplates.SingleOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (source is null)
            return Problems.NotFound($"no ServerTemplate {id}");
        var check = new Validation();
        var name = request?.Name is null ? $"{source.Name} (copy)" : check.Required("name", request.Name, 100);
        if (!check.IsValid)
            return check.Problem();
        var clone = await Revisions.CopyTemplateAsync(db, source, name!, Ids.New("lin", time), 0, null, mciId => mciId, time, cancellationToken);
        Audit.Record(db, http, "server-template.clone", clone.Id, new { source = id, clone.Name }, clone.CreatedAt);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created(ServerTemplateResponse.From(clone).Href, ServerTemplateResponse.From(clone));
    }

    private static async Task<Results<Ok<Page<TemplateMciResponse>>, ProblemHttpResult>> ListMcisAsync(ImprintDb db, string id, CancellationToken cancellationToken)
    {
        if (!await db.ServerTemplates.AnyAsync(t => t.Id == id, cancellationToken))
            return Problems.NotFound($"no ServerTemplate {id}");
        var rows = await LinkedMcisAsync(db, id, cancellationToken);
        return TypedResults.Ok(new Page<TemplateMciResponse>(
            rows.Select(r => new TemplateMciResponse(r.Mci.Id, $"/api/multi-cloud-images/{r.Mci.Id}", r.Mci.Name, r.Mci.Revision, r.Link.IsDefault)).ToList(), null));
    }

    /// <summary>The template's MCIs, the default first, then in the order they were added.</summary>
    internal static async Task<List<(ServerTemplateMci Link, MultiCloudImage Mci)>> LinkedMcisAsync(ImprintDb db, string templateId, CancellationToken cancellationToken)
    {
        var rows = await db.ServerTemplateMcis.AsNoTracking().Where(l => l.ServerTemplateId == templateId)
            .Join(db.MultiCloudImages.AsNoTracking(), l => l.MciId, m => m.Id, (l, m) => new { Link = l, Mci = m })
            .ToListAsync(cancellationToken);
        return rows.OrderByDescending(r => r.Link.IsDefault).ThenBy(r => r.Link.Position).Select(r => (r.Link, r.Mci)).ToList();
    }

    private static async Task<Results<Created<TemplateMciResponse>, ValidationProblem, ProblemHttpResult>> AddMciAsync(
        ImprintDb db, string id, TemplateMciRequest request, HttpContext http, TimeProvider time, CancellationToken cancellationToken)
    {
        var (template, refused) = await EditableAsync(db, id, cancellationToken);
        if (refused is not null)
            return refused;
        if (string.IsNullOrWhiteSpace(request.MciId))
            return Problems.Invalid("mciId", "is required");
        var mci = await db.MultiCloudImages.SingleOrDefaultAsync(m => m.Id == request.MciId, cancellationToken);
        if (mci is null)
            return Problems.Invalid("mciId", $"no MultiCloud Image {request.MciId}");
        var links = await db.ServerTemplateMcis.Where(l => l.ServerTemplateId == id).ToListAsync(cancellationToken);
        if (links.Any(l => l.MciId == mci.Id))
            return Problems.Conflict($"ServerTemplate {id} already lists MultiCloud Image {mci.Id}");
        var makeDefault = links.Count == 0 || request.IsDefault == true;
        if (makeDefault)
            links.ForEach(l => l.IsDefault = false);
        db.ServerTemplateMcis.Add(new ServerTemplateMci
        {
            AccountId = template.AccountId,
            ServerTemplateId = id,
            MciId = mci.Id,
            IsDefault = makeDefault,
            Position = links.Count == 0 ? 0 : links.Max(l => l.Position) + 1,
        });
        template.UpdatedAt = time.GetUtcNow();
        Audit.Record(db, http, "server-template.add-mci", id, new { mciId = mci.Id, isDefault = makeDefault }, template.UpdatedAt);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/api/server-templates/{id}/multi-cloud-images",
            new TemplateMciResponse(mci.Id, $"/api/multi-cloud-images/{mci.Id}", mci.Name, mci.Revision, makeDefault));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveMciAsync(
        ImprintDb db, string id, string mciId, HttpContext http, TimeProvider time, CancellationToken cancellationToken)
    {
        var template = await db.ServerTemplates.SingleOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (template is null)
            return Problems.NotFound($"no ServerTemplate {id}");
        var links = await db.ServerTemplateMcis.Where(l => l.ServerTemplateId == id).ToListAsync(cancellationToken);
        var link = links.SingleOrDefault(l => l.MciId == mciId);
        if (link is null)
            return Problems.NotFound($"ServerTemplate {id} does not list MultiCloud Image {mciId}");
        if (!template.IsHead)
            return Revisions.CommittedConflict(template, What);
        if (links.Count == 1)
            return Problems.Conflict($"MultiCloud Image {mciId} is the last of ServerTemplate {id}: a template needs one");
        if (link.IsDefault)
            return Problems.Conflict($"MultiCloud Image {mciId} is the default of ServerTemplate {id}: make another one the default first");
        db.ServerTemplateMcis.Remove(link);
        Audit.Record(db, http, "server-template.remove-mci", id, new { mciId }, time.GetUtcNow());
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    internal static async Task<Results<Ok<TemplateMciResponse>, ProblemHttpResult>> MakeDefaultAsync(
        ImprintDb db, string id, string mciId, HttpContext http, TimeProvider time, CancellationToken cancellationToken)
    {
        var template = await db.ServerTemplates.SingleOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (template is null)
            return Problems.NotFound($"no ServerTemplate {id}");
        var links = await db.ServerTemplateMcis.Where(l => l.ServerTemplateId == id).ToListAsync(cancellationToken);
        var link = links.SingleOrDefault(l => l.MciId == mciId);
        var mci = await db.MultiCloudImages.SingleOrDefaultAsync(m => m.Id == mciId, cancellationToken);
        if (link is null || mci is null)
            return Problems.NotFound($"ServerTemplate {id} does not list MultiCloud Image {mciId}");
        if (!template.IsHead)
            return Revisions.CommittedConflict(template, What);
        links.ForEach(l => l.IsDefault = l.MciId == mciId);
        Audit.Record(db, http, "server-template.make-default", id, new { mciId }, time.GetUtcNow());
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(new TemplateMciResponse(mci.Id, $"/api/multi-cloud-images/{mci.Id}", mci.Name, mci.Revision, true));
    }

    private static async Task<Results<Ok<TemplateImageMapResponse>, ProblemHttpResult>> ImageMapAsync(ImprintDb db, string id, CancellationToken cancellationToken)
    {
        if (!await db.ServerTemplates.AnyAsync(t => t.Id == id, cancellationToken))
            return Problems.NotFound($"no ServerTemplate {id}");
        return TypedResults.Ok(await BuildImageMapAsync(db, id, cancellationToken));
    }

    internal static async Task<TemplateImageMapResponse> BuildImageMapAsync(ImprintDb db, string id, CancellationToken cancellationToken)
    {
        var linked = await LinkedMcisAsync(db, id, cancellationToken);
        var maps = await ImageMaps.BuildAsync(db, linked.Select(l => l.Mci).ToList(), cancellationToken);
        var perMci = linked.Zip(maps, (l, map) => new TemplateImageMap(l.Mci.Id, l.Mci.Name, l.Link.IsDefault, map.Clouds)).ToList();
        var clouds = perMci.SelectMany(m => m.Clouds).Select(c => (c.CloudId, c.CloudName)).Distinct().OrderBy(c => c.CloudName, StringComparer.Ordinal);
        var launchable = clouds.Select(c => Launch.Resolve(perMci, c.CloudId, c.CloudName, null)).ToList();
        return new TemplateImageMapResponse(id, perMci, launchable);
    }
}

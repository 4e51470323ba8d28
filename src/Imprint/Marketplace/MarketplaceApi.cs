using Imprint.Api;
using Imprint.Auth;
using Imprint.Core.Catalog;
using Imprint.Rematch;
using Imprint.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Marketplace;

internal sealed record PublishRequest(int? Revision, string? Description);

/// <summary>
/// A publication as one account sees it: what it carries, and against the caller's own catalog whether it was
/// imported (<c>importedServerTemplateId</c>) and whether a newer revision of a lineage the caller imported exists.
/// </summary>
internal sealed record PublicationResponse(
    string Id,
    string Href,
    string Name,
    string? Description,
    string Lineage,
    int Revision,
    string Publisher,
    bool PublishedByMe,
    DateTimeOffset PublishedAt,
    IReadOnlyList<PublishedMci> MultiCloudImages,
    string? ImportedServerTemplateId,
    int? ImportedRevision,
    int LatestRevision,
    bool NewerRevisionAvailable);

internal sealed record ImportResponse(string ServerTemplateId, string Href, IReadOnlyList<string> MultiCloudImageIds, bool Created);

/// <summary>The Marketplace: publish a committed ServerTemplate revision, list, import, withdraw.</summary>
internal static class MarketplaceApi
{
    public static IEndpointRouteBuilder MapMarketplaceApi(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/api/server-templates/{id}/publish", PublishAsync).WithTags("Marketplace").RequireAuthorization(Policies.Publish);
        var group = routes.MapGroup("/api/publications").WithTags("Marketplace").RequireAuthorization(Policies.Read);
        group.MapGet("/", ListAsync);
        group.MapGet("/{id}", GetAsync);
        group.MapPost("/{id}/import", ImportAsync).RequireAuthorization(Policies.Design);
        group.MapDelete("/{id}", WithdrawAsync).RequireAuthorization(Policies.Publish);
        return routes;
    }

    private static async Task<Results<Created<PublicationResponse>, ValidationProblem, ProblemHttpResult>> PublishAsync(
        ImprintDb db, string id, PublishRequest? request, HttpContext http, TimeProvider time, CancellationToken cancellationToken)
    {
        var template = await db.ServerTemplates.AsNoTracking().SingleOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (template is null)
            return Problems.NotFound($"no ServerTemplate {id}");
        if (request?.Description is { Length: > 4000 })
            return Problems.Invalid("description", "must be at most 4000 characters");
        var target = template;
        if (request?.Revision is { } revision && revision != template.Revision)
        {
            target = await db.ServerTemplates.AsNoTracking()
                .SingleOrDefaultAsync(t => t.Lineage == template.Lineage && t.Revision == revision, cancellationToken);
            if (target is null)
                return Problems.Invalid("revision", $"ServerTemplate {id} has no revision {revision}");
        }
        if (target.IsHead)
            return Problems.Conflict($"ServerTemplate {target.Id} is the HEAD (revision 0), which still changes: commit it and publish the committed revision");

        var existing = await db.Publications.AsNoTracking().FirstOrDefaultAsync(p =>
            p.AccountId == target.AccountId && p.Lineage == target.Lineage && p.Revision == target.Revision && p.WithdrawnAt == null, cancellationToken);
        if (existing is not null)
            return Problems.Conflict($"revision {target.Revision} of '{target.Name}' is published already as {existing.Id}");

        var linked = await ServerTemplatesApi.LinkedMcisAsync(db, target.Id, cancellationToken);
        if (linked.Count == 0 || linked.Any(l => l.Mci.IsHead))
            return Problems.Conflict($"ServerTemplate {target.Id} does not list only committed MultiCloud Images: commit its HEAD and publish that revision");
        var mciIds = linked.Select(l => l.Mci.Id).ToList();
        var matchers = await db.Matchers.AsNoTracking().Where(m => mciIds.Contains(m.MciId)).ToListAsync(cancellationToken);
        var snapshot = new PublicationSnapshot(
            new PublishedTemplate(target.Name, target.Description, target.Lineage, target.Revision, target.CommitMessage),
            linked.Select(l => new PublishedMci(l.Mci.Name, l.Mci.Description, l.Mci.Lineage, l.Mci.Revision, l.Mci.CommitMessage,
                l.Link.IsDefault, l.Link.Position,
                matchers.Where(m => m.MciId == l.Mci.Id).OrderBy(m => m.CloudKind, StringComparer.Ordinal).Select(PublishedMatcher.From).ToList())).ToList());

        var publication = new Publication
        {
            Id = Ids.New("pub", time),
            AccountId = target.AccountId,
            ServerTemplateId = target.Id,
            Lineage = target.Lineage,
            Revision = target.Revision,
            Name = target.Name,
            Description = request?.Description ?? target.Description,
            Snapshot = snapshot.Serialize(),
            PublishedAt = time.GetUtcNow(),
        };
        db.Publications.Add(publication);
        Audit.Record(db, http, "publication.create", publication.Id,
            new { serverTemplateId = target.Id, target.Revision, multiCloudImages = mciIds }, publication.PublishedAt);
        await db.SaveChangesAsync(cancellationToken);
        var response = (await DescribeAsync(db, [publication], http.User.AccountId(), cancellationToken))[0];
        return TypedResults.Created(response.Href, response);
    }

    private static async Task<Results<Ok<Page<PublicationResponse>>, ValidationProblem>> ListAsync(
        ImprintDb db, HttpContext http, int? limit, string? cursor, string? name, CancellationToken cancellationToken)
    {
        if (Paging.Check(limit, out var take) is { } problem)
            return problem;
        var query = db.Publications.AsNoTracking().Where(p => p.WithdrawnAt == null);
        if (!string.IsNullOrEmpty(name))
            query = query.Where(p => p.Name.ToLower().Contains(name.ToLower()));
        var page = await Paging.PageAsync(query, p => p.Id, cursor, take, p => p, cancellationToken);
        return TypedResults.Ok(new Page<PublicationResponse>(await DescribeAsync(db, page.Items, http.User.AccountId(), cancellationToken), page.Next));
    }

    private static async Task<Results<Ok<PublicationResponse>, ProblemHttpResult>> GetAsync(ImprintDb db, string id, HttpContext http, CancellationToken cancellationToken)
    {
        var publication = await db.Publications.AsNoTracking().SingleOrDefaultAsync(p => p.Id == id && p.WithdrawnAt == null, cancellationToken);
        if (publication is null)
            return Problems.NotFound($"no publication {id}");
        return TypedResults.Ok((await DescribeAsync(db, [publication], http.User.AccountId(), cancellationToken))[0]);
    }

    private static async Task<Results<Created<ImportResponse>, ProblemHttpResult>> ImportAsync(
        ImprintDb db, string id, HttpContext http, TimeProvider time, RematchService rematch, CancellationToken cancellationToken)
    {
        var publication = await db.Publications.AsNoTracking().SingleOrDefaultAsync(p => p.Id == id && p.WithdrawnAt == null, cancellationToken);
        if (publication is null)
            return Problems.NotFound($"no publication {id}");
        ImportResponse result;
        try
        {
            result = await Importer.ImportAsync(db, rematch, publication, http, time, cancellationToken);
        }
        catch (DbUpdateException e) when (StoreErrors.IsLostRace(e))
        {
            // A simultaneous import of the same publication committed first: its copy is the answer.
            db.ChangeTracker.Clear();
            result = await Importer.ImportAsync(db, rematch, publication, http, time, cancellationToken);
        }
        // API.md answers an import with 201; a re-import is idempotent and answers the same copy (with created: false).
        return TypedResults.Created(result.Href, result);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> WithdrawAsync(ImprintDb db, string id, HttpContext http, TimeProvider time, CancellationToken cancellationToken)
    {
        var accountId = http.User.AccountId();
        // Publications are visible to all, but only the publisher's account may withdraw one: to others it is not there.
        var publication = await db.Publications.SingleOrDefaultAsync(p => p.Id == id && p.AccountId == accountId && p.WithdrawnAt == null, cancellationToken);
        if (publication is null)
            return Problems.NotFound($"no publication {id} of this account");
        publication.WithdrawnAt = time.GetUtcNow();
        Audit.Record(db, http, "publication.withdraw", id, new { publication.Name, publication.Revision }, publication.WithdrawnAt.Value);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    /// <summary>Describes publications as <paramref name="accountId"/> sees them (the db is scoped to that account).</summary>
    internal static async Task<List<PublicationResponse>> DescribeAsync(ImprintDb db, IReadOnlyList<Publication> publications, string accountId, CancellationToken cancellationToken)
    {
        var lineages = publications.Select(p => p.Lineage).Distinct().ToList();
        var publisherIds = publications.Select(p => p.AccountId).Distinct().ToList();
        var publishers = await db.Accounts.AsNoTracking().Where(a => publisherIds.Contains(a.Id))
            .ToDictionaryAsync(a => a.Id, a => a.Name, StringComparer.Ordinal, cancellationToken);
        var latest = await db.Publications.AsNoTracking().Where(p => lineages.Contains(p.Lineage) && p.WithdrawnAt == null)
            .GroupBy(p => p.Lineage).Select(g => new { g.Key, Revision = g.Max(p => p.Revision) })
            .ToDictionaryAsync(g => g.Key, g => g.Revision, StringComparer.Ordinal, cancellationToken);
        // The caller's own copies: the account filter restricts this to the caller's templates.
        var mine = await db.ServerTemplates.AsNoTracking().Where(t => lineages.Contains(t.Lineage) && t.Revision > 0)
            .Select(t => new { t.Id, t.Lineage, t.Revision }).ToListAsync(cancellationToken);
        return publications.Select(p =>
        {
            var copies = mine.Where(t => t.Lineage == p.Lineage).ToList();
            var importedRevision = copies.Count == 0 ? (int?)null : copies.Max(t => t.Revision);
            var latestRevision = Math.Max(p.Revision, latest.GetValueOrDefault(p.Lineage));
            var snapshot = PublicationSnapshot.Parse(p.Snapshot);
            return new PublicationResponse(p.Id, $"/api/publications/{p.Id}", p.Name, p.Description, p.Lineage, p.Revision,
                publishers.GetValueOrDefault(p.AccountId, "(removed)"), p.AccountId == accountId, p.PublishedAt, snapshot.MultiCloudImages,
                copies.SingleOrDefault(t => t.Revision == p.Revision)?.Id, importedRevision, latestRevision,
                importedRevision is { } imported && latestRevision > imported);
        }).ToList();
    }
}

/// <summary>Turns a publication into the caller's own copy and resolves it against the caller's clouds.</summary>
internal static class Importer
{
    public static async Task<ImportResponse> ImportAsync(ImprintDb db, RematchService rematch, Publication publication, HttpContext http,
        TimeProvider time, CancellationToken cancellationToken)
    {
        var accountId = http.User.AccountId();
        var snapshot = PublicationSnapshot.Parse(publication.Snapshot);
        var now = time.GetUtcNow();

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // Lineage and revision travel with the copy: that is how a second import (or the publisher's own) finds it.
        var template = await db.ServerTemplates.AsNoTracking()
            .SingleOrDefaultAsync(t => t.Lineage == publication.Lineage && t.Revision == publication.Revision, cancellationToken);
        if (template is not null)
        {
            var linked = await ServerTemplatesApi.LinkedMcisAsync(db, template.Id, cancellationToken);
            return new ImportResponse(template.Id, $"/api/server-templates/{template.Id}", linked.Select(l => l.Mci.Id).ToList(), Created: false);
        }

        var mciIds = new List<string>();
        var created = new List<string>();
        var reused = new List<string>();
        template = new ServerTemplate
        {
            Id = Ids.New("st", time),
            AccountId = accountId,
            Lineage = snapshot.Template.Lineage,
            Revision = snapshot.Template.Revision,
            Name = snapshot.Template.Name,
            Description = snapshot.Template.Description,
            CommitMessage = snapshot.Template.CommitMessage,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.ServerTemplates.Add(template);
        foreach (var published in snapshot.MultiCloudImages)
        {
            var mci = await db.MultiCloudImages.AsNoTracking()
                .SingleOrDefaultAsync(m => m.Lineage == published.Lineage && m.Revision == published.Revision, cancellationToken);
            if (mci is null)
            {
                mci = new MultiCloudImage
                {
                    Id = Ids.New("mci", time),
                    AccountId = accountId,
                    Lineage = published.Lineage,
                    Revision = published.Revision,
                    Name = published.Name,
                    Description = published.Description,
                    CommitMessage = published.CommitMessage,
                    CreatedAt = now,
                    UpdatedAt = now,
                };
                db.MultiCloudImages.Add(mci);
                foreach (var matcher in published.Matchers)
                {
                    db.Matchers.Add(new Matcher
                    {
                        Id = Ids.New("mat", time),
                        AccountId = accountId,
                        MciId = mci.Id,
                        CloudKind = matcher.CloudKind,
                        Fingerprint = string.Join(' ', matcher.Fingerprint),
                        VirtualSize = matcher.VirtualSize is > 0 ? matcher.VirtualSize : null,
                        ImageName = matcher.ImageName,
                        UserData = matcher.UserData,
                        CreatedAt = now,
                    });
                }
                created.Add(mci.Id);
            }
            else
            {
                reused.Add(mci.Id);
            }
            mciIds.Add(mci.Id);
            db.ServerTemplateMcis.Add(new ServerTemplateMci
            {
                AccountId = accountId,
                ServerTemplateId = template.Id,
                MciId = mci.Id,
                IsDefault = published.IsDefault,
                Position = published.Position,
            });
        }
        Audit.Record(db, http, "publication.import", template.Id,
            new { publicationId = publication.Id, publication.Revision, created, reused }, now);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        // The copy's matchers resolve against this account's own inventories, so its image map is ready at once.
        await Revisions.RecomputeForAsync(db, rematch, accountId, mciIds, cancellationToken);
        return new ImportResponse(template.Id, $"/api/server-templates/{template.Id}", mciIds, Created: true);
    }
}

using System.Text.Json;
using Imprint.Auth;
using Imprint.Core.Catalog;
using Imprint.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Imprint.Api;

internal sealed record AuditResponse(long Id, string? TokenId, string Action, string ResourceId, string? Details, DateTimeOffset At);

/// <summary>Who changed what, when: one row per change, written in the change's own transaction.</summary>
internal static class Audit
{
    public static void Record(ImprintDb db, HttpContext http, string action, string resourceId, object? details, DateTimeOffset at) =>
        Record(db, http, http.User.AccountId(), action, resourceId, details, at);

    /// <summary>Records a change in <paramref name="accountId"/>'s log: the installation admin acts in other accounts.</summary>
    public static void Record(ImprintDb db, HttpContext http, string accountId, string action, string resourceId, object? details, DateTimeOffset at) =>
        db.Audit.Add(new AuditEntry
        {
            AccountId = accountId,
            TokenId = http.User.TokenId(),
            Action = action,
            ResourceId = resourceId,
            Details = details is null ? null : JsonSerializer.Serialize(details),
            At = at,
        });

    public static RouteGroupBuilder MapAuditApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/audit").WithTags("Audit").RequireAuthorization(Policies.Admin);
        group.MapGet("/", ListAsync);
        return group;
    }

    private static async Task<Results<Ok<Page<AuditResponse>>, ValidationProblem>> ListAsync(ImprintDb db, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        if (Paging.Check(limit, out var take) is { } problem)
            return problem;
        long before = long.MaxValue;
        if (!string.IsNullOrEmpty(cursor) && !long.TryParse(cursor, out before))
            return Problems.Invalid("cursor", "is not a cursor of this list");
        // Newest first: an audit log is read from the latest change back.
        var rows = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.ToListAsync(
            db.Audit.Where(a => a.Id < before).OrderByDescending(a => a.Id).Take(take + 1), cancellationToken);
        var next = rows.Count > take ? rows[take - 1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        return TypedResults.Ok(new Page<AuditResponse>(
            rows.Take(take).Select(a => new AuditResponse(a.Id, a.TokenId, a.Action, a.ResourceId, a.Details, a.At)).ToList(), next));
    }
}

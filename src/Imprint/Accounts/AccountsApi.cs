using Imprint.Api;
using Imprint.Auth;
using Imprint.Core.Catalog;
using Imprint.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Accounts;

internal sealed record AccountRequest(string? Name);

internal sealed record AccountResponse(string Id, string Href, string Name, DateTimeOffset CreatedAt)
{
    public static AccountResponse From(Account a) => new(a.Id, $"/api/accounts/{a.Id}", a.Name, a.CreatedAt);
}

internal sealed record TokenRequest(string? Name, string? Role, DateTimeOffset? ExpiresAt);

/// <summary>A token as listed: never its secret, which is not stored.</summary>
internal sealed record TokenResponse(string Id, string Href, string AccountId, string Name, string Role, bool IsInstallationAdmin,
    DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt)
{
    public static TokenResponse From(ApiToken t) => new(t.Id, $"/api/tokens/{t.Id}", t.AccountId, t.Name, t.Role, t.IsInstallationAdmin,
        t.CreatedAt, t.ExpiresAt, t.RevokedAt);
}

/// <summary>The answer to a new token: the only time its secret is shown.</summary>
internal sealed record CreatedTokenResponse(string Id, string Href, string Token, string AccountId, string Name, string Role, DateTimeOffset? ExpiresAt);

/// <summary>
/// Accounts (the installation admin's) and API tokens (each account's admins'). A token is one role in one account;
/// only the SHA-256 of its secret is stored, so the secret is shown once, when it is made.
/// </summary>
internal static class AccountsApi
{
    public static IEndpointRouteBuilder MapAccountsApi(this IEndpointRouteBuilder routes)
    {
        var accounts = routes.MapGroup("/api/accounts").WithTags("Accounts").RequireAuthorization(Policies.Admin);
        accounts.MapGet("/", ListAccountsAsync).RequireAuthorization(Policies.InstallationAdmin);
        accounts.MapPost("/", CreateAccountAsync).RequireAuthorization(Policies.InstallationAdmin);
        accounts.MapGet("/{id}", GetAccountAsync);
        accounts.MapPost("/{id}/tokens", CreateTokenAsync);

        var tokens = routes.MapGroup("/api/tokens").WithTags("Accounts").RequireAuthorization(Policies.Admin);
        tokens.MapGet("/", ListTokensAsync);
        tokens.MapGet("/{id}", GetTokenAsync);
        tokens.MapDelete("/{id}", RevokeTokenAsync);
        return routes;
    }

    /// <summary>An account admin manages only its own account; the installation admin manages every account.</summary>
    private static bool MayManage(HttpContext http, string accountId) =>
        http.User.IsInstallationAdmin() || string.Equals(http.User.AccountId(), accountId, StringComparison.Ordinal);

    private static async Task<Results<Ok<Page<AccountResponse>>, ValidationProblem>> ListAccountsAsync(ImprintDb db, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        if (Paging.Check(limit, out var take) is { } problem)
            return problem;
        return TypedResults.Ok(await Paging.PageAsync(db.Accounts.AsNoTracking(), a => a.Id, cursor, take, AccountResponse.From, cancellationToken));
    }

    private static async Task<Results<Ok<AccountResponse>, ProblemHttpResult>> GetAccountAsync(ImprintDb db, string id, HttpContext http, CancellationToken cancellationToken)
    {
        var account = MayManage(http, id) ? await db.Accounts.AsNoTracking().SingleOrDefaultAsync(a => a.Id == id, cancellationToken) : null;
        return account is null ? Problems.NotFound($"no account {id}") : TypedResults.Ok(AccountResponse.From(account));
    }

    private static async Task<Results<Created<AccountResponse>, ValidationProblem, ProblemHttpResult>> CreateAccountAsync(
        ImprintDb db, AccountRequest request, HttpContext http, TimeProvider time, CancellationToken cancellationToken)
    {
        var check = new Validation();
        var name = check.Required("name", request.Name, 100);
        if (!check.IsValid)
            return check.Problem();
        if (await db.Accounts.AnyAsync(a => a.Name == name, cancellationToken))
            return Problems.Conflict($"an account named '{name}' exists already");
        var account = new Account { Id = Ids.New("acc", time), Name = name!, CreatedAt = time.GetUtcNow() };
        db.Accounts.Add(account);
        Audit.Record(db, http, "account.create", account.Id, new { account.Name }, account.CreatedAt);
        Audit.Record(db, http, account.Id, "account.create", account.Id, new { account.Name }, account.CreatedAt);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created(AccountResponse.From(account).Href, AccountResponse.From(account));
    }

    private static async Task<Results<Created<CreatedTokenResponse>, ValidationProblem, ProblemHttpResult>> CreateTokenAsync(
        ImprintDb db, string id, TokenRequest request, HttpContext http, TimeProvider time, CancellationToken cancellationToken)
    {
        // Another account's id is 404 for an account admin: whether it exists is not theirs to know.
        if (!MayManage(http, id) || !await db.Accounts.AnyAsync(a => a.Id == id, cancellationToken))
            return Problems.NotFound($"no account {id}");
        var now = time.GetUtcNow();
        var check = new Validation();
        var name = check.Required("name", request.Name, 100);
        if (string.IsNullOrWhiteSpace(request.Role))
            check.Add("role", "is required");
        else if (!Roles.All.Contains(request.Role, StringComparer.Ordinal))
            check.Add("role", $"must be one of {string.Join(", ", Roles.All)}");
        if (request.ExpiresAt is { } expires && expires <= now)
            check.Add("expiresAt", "must be in the future");
        if (!check.IsValid)
            return check.Problem();

        var secret = TokenAuthenticationHandler.NewSecret();
        var token = new ApiToken
        {
            Id = Ids.New("tok", time),
            AccountId = id,
            Name = name!,
            Role = request.Role!,
            SecretHash = TokenAuthenticationHandler.HashSecret(secret),
            CreatedAt = now,
            ExpiresAt = request.ExpiresAt,
        };
        db.Tokens.Add(token);
        // The audit says which token was made, never its secret.
        Audit.Record(db, http, id, "token.create", token.Id, new { token.Name, token.Role, token.ExpiresAt }, now);
        await db.SaveChangesAsync(cancellationToken);
        var href = $"/api/tokens/{token.Id}";
        return TypedResults.Created(href, new CreatedTokenResponse(token.Id, href, secret, id, token.Name, token.Role, token.ExpiresAt));
    }

    private static async Task<Results<Ok<Page<TokenResponse>>, ValidationProblem>> ListTokensAsync(ImprintDb db, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        if (Paging.Check(limit, out var take) is { } problem)
            return problem;
        return TypedResults.Ok(await Paging.PageAsync(db.Tokens.AsNoTracking(), t => t.Id, cursor, take, TokenResponse.From, cancellationToken));
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> GetTokenAsync(ImprintDb db, string id, CancellationToken cancellationToken)
    {
        var token = await db.Tokens.AsNoTracking().SingleOrDefaultAsync(t => t.Id == id, cancellationToken);
        return token is null ? Problems.NotFound($"no token {id}") : TypedResults.Ok(TokenResponse.From(token));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeTokenAsync(
        ImprintDb db, string id, HttpContext http, TimeProvider time, CancellationToken cancellationToken)
    {
        var token = await db.Tokens.SingleOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (token is null)
            return Problems.NotFound($"no token {id}");
        // The installation admin's token is the way back in: an account admin cannot lock the installation out.
        if (token.IsInstallationAdmin && !http.User.IsInstallationAdmin())
            return TypedResults.Problem(statusCode: 403, title: "Forbidden", type: Problems.TypeFor(403),
                detail: "only the installation admin may revoke the installation admin's token");
        if (token.RevokedAt is not null)
            return TypedResults.NoContent();
        token.RevokedAt = time.GetUtcNow();
        Audit.Record(db, http, token.AccountId, "token.revoke", token.Id, new { token.Name, token.Role }, token.RevokedAt.Value);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.NoContent();
    }
}

using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Imprint.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Imprint.Auth;

/// <summary>Bearer API tokens: the secret's SHA-256 is looked up; the token's account and role become the caller's.</summary>
internal sealed class TokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IDbContextFactory<ImprintDb> dbFactory,
    TokenAttemptLimiter limiter,
    TimeProvider time)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "Bearer";
    public const string AccountClaim = "imprint:account";
    public const string TokenClaim = "imprint:token";
    public const string InstallationAdminClaim = "imprint:installation-admin";
    private const string RateLimitedItem = "imprint:token-attempts-exceeded";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
            return AuthenticateResult.NoResult();
        var client = TokenAttemptLimiter.ClientOf(Context);
        if (limiter.IsBlocked(client))
        {
            Context.Items[RateLimitedItem] = true;
            return AuthenticateResult.Fail("too many failed token attempts from this client");
        }
        var result = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? await AuthenticateSecretAsync(header["Bearer ".Length..].Trim())
            : AuthenticateResult.Fail("the Authorization header must be 'Bearer <token>'");
        if (!result.Succeeded)
            limiter.RecordFailure(client);
        return result;
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (!Context.Items.ContainsKey(RateLimitedItem))
        {
            await base.HandleChallengeAsync(properties);
            return;
        }
        Response.StatusCode = StatusCodes.Status429TooManyRequests;
        Response.Headers.RetryAfter = ((int)TokenAttemptLimiter.Window.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await Context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many requests",
                Type = Api.Problems.TypeFor(429),
                Detail = "Too many failed token attempts from this client: wait a minute before trying again.",
            },
        });
    }

    /// <summary>Authenticates a token secret (also used by the UI's session sign-in).</summary>
    public async Task<AuthenticateResult> AuthenticateSecretAsync(string secret)
    {
        var principal = await FindPrincipalAsync(dbFactory, time, secret, Context.RequestAborted);
        return principal is null
            ? AuthenticateResult.Fail("the token is unknown, revoked or expired")
            : AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    public static async Task<ClaimsPrincipal?> FindPrincipalAsync(IDbContextFactory<ImprintDb> dbFactory, TimeProvider time, string secret, CancellationToken cancellationToken)
    {
        if (secret.Length is 0 or > 200)
            return null;
        var hash = HashSecret(secret);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var token = await db.Tokens.AsNoTracking().SingleOrDefaultAsync(t => t.SecretHash == hash, cancellationToken);
        var now = time.GetUtcNow();
        if (token is null || token.RevokedAt is not null || (token.ExpiresAt is { } expires && expires <= now))
            return null;
        var claims = new List<Claim>
        {
            new(ClaimTypes.Name, token.Name),
            new(ClaimTypes.Role, token.Role),
            new(AccountClaim, token.AccountId),
            new(TokenClaim, token.Id),
        };
        if (token.IsInstallationAdmin)
            claims.Add(new Claim(InstallationAdminClaim, "true"));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
    }

    public static string HashSecret(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>A new token secret: 32 random bytes, URL-safe.</summary>
    public static string NewSecret() =>
        "imp_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>The caller as the API sees it.</summary>
internal static class CallerExtensions
{
    public static string AccountId(this ClaimsPrincipal user) =>
        user.FindFirstValue(TokenAuthenticationHandler.AccountClaim) ?? throw new InvalidOperationException("caller has no account");

    public static string? TokenId(this ClaimsPrincipal user) => user.FindFirstValue(TokenAuthenticationHandler.TokenClaim);

    public static bool IsInstallationAdmin(this ClaimsPrincipal user) => user.HasClaim(TokenAuthenticationHandler.InstallationAdminClaim, "true");
}

/// <summary>Authorization policies by role (API.md).</summary>
internal static class Policies
{
    public const string Read = "read";
    public const string Design = "design";
    public const string ManageClouds = "clouds";
    public const string Launch = "launch";
    public const string Publish = "publish";
    public const string Admin = "admin";
    public const string InstallationAdmin = "installation-admin";

    public static void Add(Microsoft.AspNetCore.Authorization.AuthorizationOptions options)
    {
        options.AddPolicy(Read, p => p.RequireAuthenticatedUser());
        options.AddPolicy(Design, p => p.RequireRole("designer", "publisher", "admin"));
        options.AddPolicy(ManageClouds, p => p.RequireRole("cloud-admin", "admin"));
        options.AddPolicy(Launch, p => p.RequireRole("designer", "cloud-admin", "publisher", "admin"));
        options.AddPolicy(Publish, p => p.RequireRole("publisher", "admin"));
        options.AddPolicy(Admin, p => p.RequireRole("admin"));
        options.AddPolicy(InstallationAdmin, p => p.RequireRole("admin").RequireClaim(TokenAuthenticationHandler.InstallationAdminClaim, "true"));
    }
}

using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Unicode;
using Imprint.Auth;
using Imprint.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc.ApplicationParts;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.WebEncoders;

namespace Imprint.Ui;

/// <summary>
/// The web UI's registration: Razor Pages under <c>/ui</c>, a cookie session for them, and a policy scheme that keeps
/// <c>/api</c> on Bearer tokens only (401 problem details, never a redirect).
/// </summary>
internal static class UiRegistration
{
    /// <summary>The default scheme: it forwards to the cookie under /ui and to Bearer everywhere else.</summary>
    public const string SelectorScheme = "imprint";
    public const string CookieScheme = "imprint-ui";
    public const string CookieName = "imprint.session";
    public const string LoginPath = "/ui/login";

    /// <summary>A session lasts this long after the last request.</summary>
    public static readonly TimeSpan SessionIdle = TimeSpan.FromHours(8);

    public static IServiceCollection AddImprintUi(this IServiceCollection services)
    {
        services.AddAuthentication(o =>
            {
                o.DefaultScheme = SelectorScheme;
                o.DefaultChallengeScheme = SelectorScheme;
                o.DefaultForbidScheme = SelectorScheme;
            })
            .AddPolicyScheme(SelectorScheme, "Bearer for /api, session cookie for /ui", o =>
                o.ForwardDefaultSelector = context => IsUi(context.Request.Path) ? CookieScheme : TokenAuthenticationHandler.SchemeName)
            .AddCookie(CookieScheme, o =>
            {
                o.Cookie.Name = CookieName;
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest; // Secure whenever served over HTTPS
                o.Cookie.Path = "/ui";
                o.LoginPath = LoginPath;
                o.LogoutPath = "/ui/logout";
                o.ReturnUrlParameter = "returnUrl";
                o.ExpireTimeSpan = SessionIdle;
                o.SlidingExpiration = true;
                o.Events.OnValidatePrincipal = ValidateTokenStillValidAsync;
                o.Events.OnRedirectToAccessDenied = context =>
                {
                    // A role that may not do something gets the 403 page, not a redirect loop.
                    context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    return Task.CompletedTask;
                };
            });

        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "imprint.antiforgery";
            o.Cookie.Path = "/ui";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = "__RequestVerificationToken";
        });

        // Names and digests are shown as typed (é, ✔, —): every character that matters to HTML is still escaped.
        services.Configure<WebEncoderOptions>(o => o.TextEncoderSettings = new TextEncoderSettings(UnicodeRanges.All));
        services.AddRazorPages(o =>
            {
                o.RootDirectory = "/Ui";
                o.Conventions.AuthorizeFolder("/", Policies.Read);
                o.Conventions.AllowAnonymousToPage("/Account/Login");
            })
            .ConfigureApplicationPartManager(parts =>
            {
                // The entry assembly is not imprint's when tests host the app: name the assembly that holds the pages.
                var assembly = typeof(UiRegistration).Assembly;
                if (parts.ApplicationParts.Any(p => p is AssemblyPart a && a.Assembly == assembly))
                    return;
                foreach (var part in ApplicationPartFactory.GetApplicationPartFactory(assembly).GetApplicationParts(assembly))
                    parts.ApplicationParts.Add(part);
            });
        return services;
    }

    /// <summary>Static files and the HTML status pages of /ui; goes after UseStatusCodePages so that /ui answers in HTML.</summary>
    public static IApplicationBuilder UseImprintUi(this IApplicationBuilder app)
    {
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new EmbeddedFileProvider(typeof(UiRegistration).Assembly, "Imprint.wwwroot"),
            RequestPath = "/ui/static",
            OnPrepareResponse = file => file.Context.Response.Headers.CacheControl = "public, max-age=3600",
        });
        app.UseWhen(context => IsUi(context.Request.Path), ui => ui.UseStatusCodePages(status => UiErrorPage.WriteAsync(status.HttpContext)));
        app.Use(async (context, next) =>
        {
            if (IsUi(context.Request.Path))
            {
                // Pages show what a signed-in user may see: never cache them, never let another site frame them.
                context.Response.Headers.CacheControl = "no-store";
                context.Response.Headers.XFrameOptions = "DENY";
                context.Response.Headers.XContentTypeOptions = "nosniff";
                context.Response.Headers.ContentSecurityPolicy =
                    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'";
            }
            await next(context);
        });
        return app;
    }

    public static IEndpointRouteBuilder MapImprintUi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/", () => TypedResults.Redirect("/ui/server-templates")).AllowAnonymous().ExcludeFromDescription();
        routes.MapGet("/ui", () => TypedResults.Redirect("/ui/server-templates")).AllowAnonymous().ExcludeFromDescription();
        routes.MapRazorPages();
        return routes;
    }

    public static bool IsUi(PathString path) => path.StartsWithSegments("/ui", StringComparison.OrdinalIgnoreCase);

    /// <summary>Signs the browser in with the identity of an API token.</summary>
    public static async Task SignInAsync(HttpContext http, ClaimsPrincipal tokenPrincipal)
    {
        var identity = new ClaimsIdentity(tokenPrincipal.Claims, CookieScheme);
        await http.SignInAsync(CookieScheme, new ClaimsPrincipal(identity), new AuthenticationProperties { IsPersistent = false });
    }

    /// <summary>A session ends as soon as its token is revoked or expires, not when the cookie does.</summary>
    private static async Task ValidateTokenStillValidAsync(CookieValidatePrincipalContext context)
    {
        var tokenId = context.Principal?.TokenId();
        var services = context.HttpContext.RequestServices;
        var cancellationToken = context.HttpContext.RequestAborted;
        if (tokenId is not null)
        {
            var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
            await using var db = await services.GetRequiredService<IDbContextFactory<ImprintDb>>().CreateDbContextAsync(cancellationToken);
            var token = await db.Tokens.AsNoTracking().SingleOrDefaultAsync(t => t.Id == tokenId, cancellationToken);
            if (token is { RevokedAt: null } && (token.ExpiresAt is not { } expires || expires > now))
                return;
        }
        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(CookieScheme);
    }
}

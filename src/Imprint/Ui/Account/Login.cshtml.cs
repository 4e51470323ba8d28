using Imprint.Auth;
using Imprint.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Ui.Account;

/// <summary>Sign-in with an API token: the token's account and role become the session's.</summary>
internal sealed class LoginModel(IDbContextFactory<ImprintDb> dbFactory, TokenAttemptLimiter limiter, TimeProvider time) : PageModel
{
    public string? Error { get; private set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public IActionResult OnGet() => User.Identity?.IsAuthenticated == true ? LocalRedirect(SafeReturnUrl()) : Page();

    public async Task<IActionResult> OnPostAsync(string? token, CancellationToken cancellationToken)
    {
        var secret = token?.Trim() ?? "";
        if (secret.Length == 0)
        {
            Error = "Enter your API token.";
            return Page();
        }
        // The sign-in form is a token attempt like a Bearer header: the same per-client limit applies.
        var client = TokenAttemptLimiter.ClientOf(HttpContext);
        if (limiter.IsBlocked(client))
        {
            Error = "Too many failed sign-in attempts from here: wait a minute before trying again.";
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            return Page();
        }
        var principal = await TokenAuthenticationHandler.FindPrincipalAsync(dbFactory, time, secret, cancellationToken);
        if (principal is null)
        {
            limiter.RecordFailure(client);
            Error = "This token is unknown, revoked or expired.";
            Response.StatusCode = StatusCodes.Status200OK;
            return Page();
        }
        await UiRegistration.SignInAsync(HttpContext, principal);
        return LocalRedirect(SafeReturnUrl());
    }

    /// <summary>Only back into the UI: an open redirect would let another site use the sign-in as a springboard.</summary>
    private string SafeReturnUrl() =>
        ReturnUrl is { } url && Url.IsLocalUrl(url) && UiRegistration.IsUi(new PathString(url.Split('?')[0])) ? url : "/ui/server-templates";
}

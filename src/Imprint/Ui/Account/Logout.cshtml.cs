using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Imprint.Ui.Account;

/// <summary>Sign-out is a POST (with its anti-forgery token): a link elsewhere cannot sign the user out.</summary>
internal sealed class LogoutModel : PageModel
{
    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        await HttpContext.SignOutAsync(UiRegistration.CookieScheme);
        return Redirect(UiRegistration.LoginPath);
    }
}

using Imprint.Auth;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Imprint.Ui;

/// <summary>What every page needs: the caller's rights by role and the API's validation problems beside the form's fields.</summary>
internal abstract class UiPageModel(IAuthorizationService authorization) : PageModel
{
    public bool CanDesign { get; private set; }
    public bool CanManageClouds { get; private set; }
    public bool CanLaunch { get; private set; }

    /// <summary>Reads the caller's rights once, so that pages offer only the actions the role allows.</summary>
    protected async Task LoadRightsAsync()
    {
        CanDesign = (await authorization.AuthorizeAsync(User, Policies.Design)).Succeeded;
        CanManageClouds = (await authorization.AuthorizeAsync(User, Policies.ManageClouds)).Succeeded;
        CanLaunch = (await authorization.AuthorizeAsync(User, Policies.Launch)).Succeeded;
    }

    /// <summary>Puts the API's field errors beside the form's fields; <paramref name="fields"/> maps API field names to form field names.</summary>
    protected void AddErrors(ValidationProblem problem, IReadOnlyDictionary<string, string> fields)
    {
        foreach (var (field, messages) in problem.ProblemDetails.Errors)
        {
            var key = fields.GetValueOrDefault(field, "");
            foreach (var message in messages)
                ModelState.AddModelError(key, key.Length == 0 ? $"{field} {message}" : Sentence(message));
        }
    }

    /// <summary>The API's messages are fragments ("is required"); beside a labelled field they read as sentences.</summary>
    protected static string Sentence(string message) =>
        message.Length == 0 ? message : char.ToUpperInvariant(message[0]) + message[1..] + (message.EndsWith('.') ? "" : ".");

    public string? ErrorFor(string field) =>
        ModelState.TryGetValue(field, out var entry) && entry.ValidationState == ModelValidationState.Invalid
            ? string.Join(" ", entry.Errors.Select(e => e.ErrorMessage))
            : null;

    /// <summary>The form's value as the user typed it, so that a refused form keeps what was entered.</summary>
    public string? Typed(string field) => ModelState.TryGetValue(field, out var entry) ? entry.AttemptedValue : null;
}

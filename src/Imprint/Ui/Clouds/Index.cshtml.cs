using System.Globalization;
using Imprint.Api;
using Imprint.Core.Catalog;
using Imprint.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Ui.Clouds;

/// <summary>The account's clouds (paged) and the form that registers one, through the API's own validation.</summary>
internal sealed class IndexModel(ImprintDb db, TimeProvider time, IDataProtectionProvider protection, IAuthorizationService authorization)
    : UiPageModel(authorization)
{
    private static readonly Dictionary<string, string> Fields = new(StringComparer.Ordinal)
    {
        ["name"] = "name", ["kind"] = "kind", ["endpoint"] = "endpoint", ["region"] = "region", ["adminContact"] = "adminContact",
        ["credentials"] = "credentials", ["syncInterval"] = "syncMinutes", ["public"] = "isPublic",
    };

    [BindProperty(SupportsGet = true)]
    public string? Cursor { get; set; }

    public IReadOnlyList<CloudResponse> Items { get; private set; } = [];
    public PagerModel Pager { get; private set; } = null!;

    public static IReadOnlyList<string> Kinds => CloudKinds.All;

    public async Task OnGetAsync(CancellationToken cancellationToken) => await LoadAsync(cancellationToken);

    public async Task<IActionResult> OnPostRegisterAsync(string? name, string? kind, string? endpoint, string? region, bool? isPublic,
        string? adminContact, string? credentials, string? syncMinutes, CancellationToken cancellationToken)
    {
        await LoadRightsAsync();
        if (!CanManageClouds)
            return Forbid();
        ModelState.Remove("credentials"); // a refused form never echoes a secret back
        TimeSpan? interval = null;
        if (!string.IsNullOrWhiteSpace(syncMinutes))
        {
            if (int.TryParse(syncMinutes, NumberStyles.None, CultureInfo.InvariantCulture, out var minutes) && minutes is >= 1 and <= 7 * 24 * 60)
                interval = TimeSpan.FromMinutes(minutes);
            else
                ModelState.AddModelError("syncMinutes", "Enter a whole number of minutes from 1 to 10080 (7 days).");
        }
        // The API stops at the first field it cannot read; checked here too, so that one answer lists every fault.
        if (string.IsNullOrWhiteSpace(name))
            ModelState.AddModelError("name", "Is required.");
        if (ModelState.ErrorCount == 0)
        {
            var request = new CloudRequest(name, kind, endpoint?.Trim(), Blank(region), isPublic ?? false, Blank(adminContact), Blank(credentials), interval);
            var result = await CloudsApi.CreateAsync(db, request, HttpContext, time, protection, cancellationToken);
            switch (result.Result)
            {
                case Created<CloudResponse> { Value: { } cloud }:
                    TempData["Message"] = $"Registered cloud {cloud.Name}. Rematch it to read its images.";
                    return Redirect($"/ui/clouds/{cloud.Id}");
                case ValidationProblem invalid:
                    AddErrors(invalid, Fields);
                    break;
                case ProblemHttpResult { StatusCode: 409 } conflict:
                    ModelState.AddModelError("name", Sentence(conflict.ProblemDetails.Detail ?? "this name is taken"));
                    break;
                case ProblemHttpResult problem:
                    ModelState.AddModelError("", problem.ProblemDetails.Detail ?? "the cloud could not be registered");
                    break;
                default:
                    throw new InvalidOperationException($"unexpected result {result.Result}");
            }
        }
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity; // the form is shown again with its messages
        await LoadAsync(cancellationToken);
        return Page();
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        await LoadRightsAsync();
        var page = await Paging.PageAsync(db.Clouds.AsNoTracking(), c => c.Id, Cursor, PagerModel.PageSize, CloudResponse.From, cancellationToken);
        Items = page.Items; // in the order they were registered, as the API lists them
        Pager = new PagerModel("/ui/clouds", new Dictionary<string, string?>(), !string.IsNullOrEmpty(Cursor), page.Next);
    }
}

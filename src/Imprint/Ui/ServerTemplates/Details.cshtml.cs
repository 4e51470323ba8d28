using Imprint.Api;
using Imprint.Core.Catalog;
using Imprint.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Ui.ServerTemplates;

/// <summary>A cloud where the template cannot launch, with why and what to ask for.</summary>
internal sealed record Refusal(string CloudId, string CloudName, string Reason, string? AdminContact, string? MailTo, IReadOnlyList<string>? Fingerprint);

/// <summary>One ServerTemplate: its revisions, the Images tab (MCIs, default, where it can launch) and the Launch tab.</summary>
internal sealed class DetailsModel(ImprintDb db, TimeProvider time, IAuthorizationService authorization) : UiPageModel(authorization)
{
    private static readonly Dictionary<string, string> LaunchFields = new(StringComparer.Ordinal)
    {
        ["name"] = "Name", ["cloudId"] = "CloudId", ["mciId"] = "MciId", ["instanceType"] = "InstanceType",
    };

    [BindProperty(SupportsGet = true)]
    public string Tab { get; set; } = "images";

    public ServerTemplate Template { get; private set; } = null!;
    public IReadOnlyList<ServerTemplate> Revisions { get; private set; } = [];
    public IReadOnlyList<(ServerTemplateMci Link, MultiCloudImage Mci)> Mcis { get; private set; } = [];
    public IReadOnlyList<LaunchableCloud> Launchable { get; private set; } = [];
    public IReadOnlyList<Refusal> Refused { get; private set; } = [];

    [TempData]
    public string? Message { get; set; }

    public ServerResponse? Launched { get; private set; }
    public string? LaunchRefusal { get; private set; }

    public async Task<IActionResult> OnGetAsync(string id, CancellationToken cancellationToken) =>
        await LoadAsync(id, cancellationToken) ? Page() : NotFound();

    public async Task<IActionResult> OnPostMakeDefaultAsync(string id, string? mciId, CancellationToken cancellationToken)
    {
        await LoadRightsAsync();
        if (!CanDesign)
            return Forbid();
        var result = await ServerTemplatesApi.MakeDefaultAsync(db, id, mciId ?? "", HttpContext, time, cancellationToken);
        switch (result.Result)
        {
            case Ok<TemplateMciResponse> { Value: { } made }:
                Message = $"{made.Name} is now the default MultiCloud Image.";
                return RedirectToPage(new { id });
            case ProblemHttpResult { StatusCode: 404 }:
                return NotFound();
            case ProblemHttpResult problem:
                Message = problem.ProblemDetails.Detail;
                return RedirectToPage(new { id });
            default:
                throw new InvalidOperationException($"unexpected result {result.Result}");
        }
    }

    public async Task<IActionResult> OnPostLaunchAsync(string id, string? name, string? cloudId, string? mciId, string? instanceType, CancellationToken cancellationToken)
    {
        Tab = "launch";
        await LoadRightsAsync();
        if (!CanLaunch)
            return Forbid();
        var request = new ServerRequest(name, id, cloudId, string.IsNullOrEmpty(mciId) ? null : mciId, string.IsNullOrWhiteSpace(instanceType) ? null : instanceType.Trim());
        var result = await ServersApi.LaunchAsync(db, request, HttpContext, time, cancellationToken);
        switch (result.Result)
        {
            case Created<ServerResponse> { Value: { } server }:
                Launched = server;
                ModelState.Clear(); // a launched server empties the form
                break;
            case ValidationProblem invalid:
                AddErrors(invalid, LaunchFields);
                break;
            case ProblemHttpResult { StatusCode: 404 } when !await db.ServerTemplates.AnyAsync(t => t.Id == id, cancellationToken):
                return NotFound();
            case ProblemHttpResult { StatusCode: 404 }:
                ModelState.AddModelError("CloudId", "Choose one of the clouds offered.");
                break;
            case ProblemHttpResult problem:
                LaunchRefusal = problem.ProblemDetails.Detail;
                ModelState.AddModelError("CloudId", "This ServerTemplate cannot launch there: see why below.");
                break;
            default:
                throw new InvalidOperationException($"unexpected result {result.Result}");
        }
        return await LoadAsync(id, cancellationToken) ? Page() : NotFound();
    }

    private async Task<bool> LoadAsync(string id, CancellationToken cancellationToken)
    {
        await LoadRightsAsync();
        var template = await db.ServerTemplates.AsNoTracking().SingleOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (template is null)
            return false;
        Template = template;
        Revisions = await db.ServerTemplates.AsNoTracking().Where(t => t.Lineage == template.Lineage)
            .OrderBy(t => t.Revision).ToListAsync(cancellationToken);
        Mcis = await ServerTemplatesApi.LinkedMcisAsync(db, id, cancellationToken);
        var map = await ServerTemplatesApi.BuildImageMapAsync(db, id, cancellationToken);
        Launchable = map.Clouds.Where(c => c.Launchable).ToList();

        var clouds = await db.Clouds.AsNoTracking().OrderBy(c => c.Name).ToListAsync(cancellationToken);
        var refused = new List<Refusal>();
        foreach (var cloud in clouds.Where(c => Launchable.All(l => l.CloudId != c.Id)))
        {
            var resolved = map.Clouds.SingleOrDefault(c => c.CloudId == cloud.Id);
            var reason = resolved?.Reason ?? $"none of its MultiCloud Images has a setting for {cloud.Name} or a matcher for {cloud.Kind} clouds";
            // What to ask for: the fingerprint of the first MCI (default first) that has a matcher for this cloud.
            var entry = map.MultiCloudImages.SelectMany(m => m.Clouds).FirstOrDefault(e => e.CloudId == cloud.Id && e.Fingerprint is not null);
            var mailTo = entry?.Fingerprint is { } fingerprint
                ? UiText.MailTo(cloud.AdminContact, $"Please upload an image to {cloud.Name}",
                    $"Hello,\n\nImprint finds no image in {cloud.Name} for ServerTemplate '{template.Name}'. Please upload the image with these digests:\n\n{string.Join("\n", fingerprint)}\n\nThank you.")
                : null;
            refused.Add(new Refusal(cloud.Id, cloud.Name, reason, cloud.AdminContact, mailTo, entry?.Fingerprint));
        }
        Refused = refused;
        return true;
    }
}

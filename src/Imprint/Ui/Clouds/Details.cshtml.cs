using Imprint.Api;
using Imprint.Auth;
using Imprint.Rematch;
using Imprint.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Ui.Clouds;

/// <summary>One cloud: its state, a Rematch button, and its last good inventory, paged and filtered by name and digest.</summary>
internal sealed class DetailsModel(ImprintDb db, RematchService rematch, IAuthorizationService authorization) : UiPageModel(authorization)
{
    [BindProperty(SupportsGet = true)]
    public string? Name { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Digest { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Cursor { get; set; }

    public CloudResponse Cloud { get; private set; } = null!;
    public IReadOnlyList<ImageResponse> Images { get; private set; } = [];
    public int Total { get; private set; }
    public PagerModel Pager { get; private set; } = null!;
    public RematchReport? Report { get; private set; }

    [TempData]
    public string? Message { get; set; }

    public async Task<IActionResult> OnGetAsync(string id, CancellationToken cancellationToken) =>
        await LoadAsync(id, cancellationToken) ? Page() : NotFound();

    public async Task<IActionResult> OnPostRematchAsync(string id, CancellationToken cancellationToken)
    {
        await LoadRightsAsync();
        if (!CanManageClouds)
            return Forbid();
        if (!await db.Clouds.AnyAsync(c => c.Id == id, cancellationToken))
            return NotFound();
        Report = await rematch.RematchCloudAsync(User.AccountId(), id, cancellationToken);
        return await LoadAsync(id, cancellationToken) ? Page() : NotFound();
    }

    private async Task<bool> LoadAsync(string id, CancellationToken cancellationToken)
    {
        await LoadRightsAsync();
        var cloud = await db.Clouds.AsNoTracking().SingleOrDefaultAsync(c => c.Id == id, cancellationToken);
        if (cloud is null)
            return false;
        Cloud = CloudResponse.From(cloud);
        var query = db.Images.AsNoTracking().Where(i => i.CloudId == id);
        Total = await query.CountAsync(cancellationToken);
        if (!string.IsNullOrWhiteSpace(Name))
        {
            var name = Name.Trim().ToLower();
            query = query.Where(i => i.Name.ToLower().Contains(name));
        }
        if (!string.IsNullOrWhiteSpace(Digest))
        {
            var parsed = Core.Digests.Digest.Parse(Digest.Trim());
            if (!parsed.Success)
            {
                ModelState.AddModelError("digest", Sentence(parsed.Error));
                query = query.Where(_ => false);
            }
            else
            {
                var text = parsed.Value.ToString();
                query = query.Where(i => i.Digests.Contains(text));
            }
        }
        long after = 0;
        if (!string.IsNullOrEmpty(Cursor) && !long.TryParse(Cursor, out after))
            return false;
        var rows = await query.Where(i => i.Id > after).OrderBy(i => i.Id).Take(PagerModel.PageSize + 1).ToListAsync(cancellationToken);
        var next = rows.Count > PagerModel.PageSize ? rows[PagerModel.PageSize - 1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        Images = rows.Take(PagerModel.PageSize).Select(ImageResponse.From).ToList();
        Pager = new PagerModel($"/ui/clouds/{id}", new Dictionary<string, string?> { ["name"] = Name, ["digest"] = Digest }, !string.IsNullOrEmpty(Cursor), next);
        return true;
    }
}

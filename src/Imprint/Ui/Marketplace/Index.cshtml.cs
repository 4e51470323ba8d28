using Imprint.Auth;
using Imprint.Marketplace;
using Imprint.Rematch;
using Imprint.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Ui.Marketplace;

/// <summary>The Marketplace: every account's publications, an Import button, and which imports have a newer revision.</summary>
internal sealed class IndexModel(ImprintDb db, RematchService rematch, TimeProvider time, IAuthorizationService authorization) : UiPageModel(authorization)
{
    [BindProperty(SupportsGet = true)]
    public string? Cursor { get; set; }

    public IReadOnlyList<PublicationResponse> Items { get; private set; } = [];

    public PagerModel Pager { get; private set; } = null!;

    [TempData]
    public string? Message { get; set; }

    public async Task OnGetAsync(CancellationToken cancellationToken) => await LoadAsync(cancellationToken);

    public async Task<IActionResult> OnPostImportAsync(string id, CancellationToken cancellationToken)
    {
        await LoadRightsAsync();
        if (!CanDesign)
            return Forbid();
        var publication = await db.Publications.AsNoTracking().SingleOrDefaultAsync(p => p.Id == id && p.WithdrawnAt == null, cancellationToken);
        if (publication is null)
            return NotFound();
        var result = await Importer.ImportAsync(db, rematch, publication, HttpContext, time, cancellationToken);
        Message = result.Created
            ? $"Imported “{publication.Name}” revision {publication.Revision}: it is matched against your own clouds."
            : $"“{publication.Name}” revision {publication.Revision} was imported already.";
        return LocalRedirect($"/ui/server-templates/{result.ServerTemplateId}");
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        await LoadRightsAsync();
        var query = db.Publications.AsNoTracking().Where(p => p.WithdrawnAt == null);
        var page = await Api.Paging.PageAsync(query, p => p.Id, Cursor, PagerModel.PageSize, p => p, cancellationToken);
        Items = await MarketplaceApi.DescribeAsync(db, page.Items, User.AccountId(), cancellationToken);
        Pager = new PagerModel("/ui/marketplace", new Dictionary<string, string?>(), !string.IsNullOrEmpty(Cursor), page.Next);
    }
}

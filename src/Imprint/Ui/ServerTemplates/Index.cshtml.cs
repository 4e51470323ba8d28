using Imprint.Api;
using Imprint.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Ui.ServerTemplates;

/// <summary>The ServerTemplates list: search by name, HEAD or committed, paged by cursor.</summary>
internal sealed class IndexModel(ImprintDb db) : PageModel
{
    private Dictionary<string, int> _committed = new(StringComparer.Ordinal);

    [BindProperty(SupportsGet = true)]
    public string? Q { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Revisions { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Cursor { get; set; }

    public IReadOnlyList<ServerTemplateResponse> Items { get; private set; } = [];

    public PagerModel Pager { get; private set; } = null!;

    public int CommittedCount(string lineage) => _committed.GetValueOrDefault(lineage);

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        var query = db.ServerTemplates.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(Q))
        {
            var q = Q.Trim().ToLower();
            query = query.Where(t => t.Name.ToLower().Contains(q));
        }
        query = Revisions switch
        {
            "head" => query.Where(t => t.Revision == 0),
            "committed" => query.Where(t => t.Revision > 0),
            _ => query,
        };
        var page = await Paging.PageAsync(query, t => t.Id, Cursor, PagerModel.PageSize, ServerTemplateResponse.From, cancellationToken);
        Items = page.Items;
        var lineages = Items.Select(t => t.Lineage).Distinct().ToList();
        _committed = await db.ServerTemplates.AsNoTracking().Where(t => lineages.Contains(t.Lineage) && t.Revision > 0)
            .GroupBy(t => t.Lineage).Select(g => new { g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.Key, g => g.Count, StringComparer.Ordinal, cancellationToken);
        Pager = new PagerModel("/ui/server-templates", new Dictionary<string, string?> { ["q"] = Q, ["revisions"] = Revisions },
            !string.IsNullOrEmpty(Cursor), page.Next);
    }
}

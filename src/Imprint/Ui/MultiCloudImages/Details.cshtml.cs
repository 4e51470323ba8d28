using Imprint.Api;
using Imprint.Core.Catalog;
using Imprint.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Ui.MultiCloudImages;

/// <summary>One MCI and its Clouds tab: each setting and each matcher with its fingerprint in full.</summary>
internal sealed class DetailsModel(ImprintDb db, IAuthorizationService authorization) : UiPageModel(authorization)
{
    public MultiCloudImage Mci { get; private set; } = null!;
    public IReadOnlyList<MultiCloudImage> Revisions { get; private set; } = [];
    public IReadOnlyList<SettingResponse> Settings { get; private set; } = [];
    public IReadOnlyList<MatcherResponse> Matchers { get; private set; } = [];
    public IReadOnlyList<ServerTemplate> UsedBy { get; private set; } = [];
    public IReadOnlyDictionary<string, Cloud> Clouds { get; private set; } = new Dictionary<string, Cloud>();

    public async Task<IActionResult> OnGetAsync(string id, CancellationToken cancellationToken)
    {
        var mci = await db.MultiCloudImages.AsNoTracking().SingleOrDefaultAsync(m => m.Id == id, cancellationToken);
        if (mci is null)
            return NotFound();
        Mci = mci;
        Revisions = await db.MultiCloudImages.AsNoTracking().Where(m => m.Lineage == mci.Lineage).OrderBy(m => m.Revision).ToListAsync(cancellationToken);
        Settings = (await db.Settings.AsNoTracking().Where(s => s.MciId == id).ToListAsync(cancellationToken)).Select(SettingResponse.From).ToList();
        Matchers = (await db.Matchers.AsNoTracking().Where(m => m.MciId == id).OrderBy(m => m.CloudKind).ToListAsync(cancellationToken))
            .Select(MatcherResponse.From).ToList();
        var templateIds = db.ServerTemplateMcis.Where(l => l.MciId == id).Select(l => l.ServerTemplateId);
        UsedBy = await db.ServerTemplates.AsNoTracking().Where(t => templateIds.Contains(t.Id)).OrderBy(t => t.Name).ToListAsync(cancellationToken);
        var cloudIds = Settings.Select(s => s.CloudId).Distinct().ToList();
        Clouds = await db.Clouds.AsNoTracking().Where(c => cloudIds.Contains(c.Id)).ToDictionaryAsync(c => c.Id, StringComparer.Ordinal, cancellationToken);
        Settings = Settings.OrderBy(s => Clouds.TryGetValue(s.CloudId, out var c) ? c.Name : s.CloudId, StringComparer.Ordinal).ToList();
        return Page();
    }

    public string CloudName(string cloudId) => Clouds.TryGetValue(cloudId, out var cloud) ? cloud.Name : cloudId;
}

using Imprint.Api;
using Imprint.Core.Catalog;
using Imprint.Rematch;
using Imprint.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Ui.MultiCloudImages;

/// <summary>The image map of one MCI, and the Rematch button that requeries the clouds it touches and shows the report.</summary>
internal sealed class ImageMapModel(ImprintDb db, RematchService rematch, IAuthorizationService authorization) : UiPageModel(authorization)
{
    public MultiCloudImage Mci { get; private set; } = null!;
    public ImageMapResponse Map { get; private set; } = null!;
    public IReadOnlyList<RematchReport>? Reports { get; private set; }
    public IReadOnlyDictionary<string, string> CloudNames { get; private set; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> MciNames { get; private set; } = new Dictionary<string, string>();

    public async Task<IActionResult> OnGetAsync(string id, CancellationToken cancellationToken) =>
        await LoadAsync(id, cancellationToken) ? Page() : NotFound();

    public async Task<IActionResult> OnPostRematchAsync(string id, CancellationToken cancellationToken)
    {
        await LoadRightsAsync();
        if (!CanManageClouds)
            return Forbid();
        if (!await db.MultiCloudImages.AnyAsync(m => m.Id == id, cancellationToken))
            return NotFound();
        var clouds = await MultiCloudImagesApi.TouchedCloudsAsync(db, [id], cancellationToken);
        Reports = await MultiCloudImagesApi.RematchAllAsync(db, HttpContext, rematch, clouds.Select(c => c.Id), cancellationToken);
        var mciIds = Reports.SelectMany(r => r.Settings.Created.Concat(r.Settings.Updated).Concat(r.Settings.Destroyed).Select(s => s.MciId)
            .Concat(r.Matches.Changed.Select(c => c.MciId))).Distinct().ToList();
        MciNames = await db.MultiCloudImages.AsNoTracking().Where(m => mciIds.Contains(m.Id))
            .ToDictionaryAsync(m => m.Id, m => m.Name, StringComparer.Ordinal, cancellationToken);
        CloudNames = clouds.ToDictionary(c => c.Id, c => c.Name, StringComparer.Ordinal);
        return await LoadAsync(id, cancellationToken) ? Page() : NotFound();
    }

    public string MciName(string id) => MciNames.GetValueOrDefault(id, id);

    public string CloudName(string id) => CloudNames.GetValueOrDefault(id, id);

    private async Task<bool> LoadAsync(string id, CancellationToken cancellationToken)
    {
        await LoadRightsAsync();
        var mci = await db.MultiCloudImages.AsNoTracking().SingleOrDefaultAsync(m => m.Id == id, cancellationToken);
        if (mci is null)
            return false;
        Mci = mci;
        Map = (await ImageMaps.BuildAsync(db, [mci], cancellationToken))[0];
        return true;
    }

    /// <summary>The request to the cloud's administrator, ready to send.</summary>
    public string? MailTo(ImageMapEntry entry) => entry.Fingerprint is { } fingerprint
        ? UiText.MailTo(entry.AdminContact, $"Please upload an image to {entry.CloudName}",
            $"Hello,\n\nImprint finds no image in {entry.CloudName} for the MultiCloud Image '{Mci.Name}'. Please upload the image with these digests:\n\n{string.Join("\n", fingerprint)}\n{VirtualSizeLine(entry)}\nThank you.")
        : null;

    private static string VirtualSizeLine(ImageMapEntry entry) =>
        entry.VirtualSize is { } size ? $"\nIts virtual disk size is {UiText.BytesExact(size)}.\n" : "";
}

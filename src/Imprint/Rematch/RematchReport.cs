namespace Imprint.Rematch;

/// <summary>
/// What one rematch of a cloud did (API.md's rematch report), and, beyond API.md, <c>content</c>: the images downloaded to
/// fingerprint their content and those deferred to a later rematch, from connectors that do such work (else null).
/// </summary>
internal sealed record RematchReport(
    string CloudId,
    string Status,
    InventoryChanges Inventory,
    SettingChanges Settings,
    MatchChanges Matches,
    string? Error,
    DateTimeOffset StartedAt,
    DateTimeOffset FinishedAt,
    Imprint.Clouds.ContentFingerprinting? Content = null);

internal sealed record InventoryChanges(int Images, int Added, int Removed, int Changed);

internal sealed record SettingChanges(IReadOnlyList<SettingChange> Created, IReadOnlyList<SettingChange> Updated, IReadOnlyList<SettingChange> Destroyed)
{
    public static SettingChanges None { get; } = new([], [], []);
}

/// <summary>A generated setting that rematch created, updated or destroyed.</summary>
internal sealed record SettingChange(string Id, string MciId, string CloudId, string ImageUid, string? PreviousImageUid, string? GeneratedBy);

internal sealed record MatchChanges(IReadOnlyList<MatchChange> Changed);

/// <summary>An (MCI, cloud) whose status or image changed; <c>From</c> is null for a new pair, <c>To</c> null for a pair that no longer applies.</summary>
internal sealed record MatchChange(string MciId, string CloudId, string? From, string? To, string? PreviousImageUid, string? ImageUid);

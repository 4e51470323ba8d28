using System.Collections.Immutable;
using Imprint.Core.Digests;

namespace Imprint.Core.Matching;

/// <summary>A cloud as the matcher sees it.</summary>
/// <param name="UnreachableError">Why the last sync failed, or null: when set, every match in the cloud is stale.</param>
/// <param name="ListsImages">False for a cloud Imprint cannot list (no connector for its kind yet): its hand-written
/// settings are trusted, not verified.</param>
public sealed record MatchCloud(
    string Id,
    string Name,
    string Kind,
    bool IsPublic,
    string? AdminContact,
    string? UnreachableError = null,
    bool ListsImages = true);

/// <summary>An image of a cloud's last good inventory.</summary>
public sealed record MatchImage(
    string Uid,
    string Name,
    string Status,
    string Visibility,
    DateTimeOffset? CreatedAt,
    ImmutableArray<Digest> Digests)
{
    /// <summary>Only active images can be launched, so only they match.</summary>
    public bool IsActive => string.Equals(Status, "active", StringComparison.OrdinalIgnoreCase);

    /// <summary>Public images win ties over private ones.</summary>
    public bool IsPublic => string.Equals(Visibility, "public", StringComparison.OrdinalIgnoreCase);
}

/// <summary>One cloud and its last good inventory.</summary>
public sealed record MatchInventory(MatchCloud Cloud, IReadOnlyList<MatchImage> Images);

/// <summary>A hand-written setting: it pins an image in one cloud.</summary>
public sealed record MatchSetting(string MciId, string CloudId, string ImageUid);

/// <summary>A matcher of an MCI: a cloud kind and a fingerprint.</summary>
public sealed record MatchMatcher(string Id, string MciId, string CloudKind, Fingerprint Fingerprint, string? ImageName);

/// <summary>One image considered for an (MCI, cloud).</summary>
public sealed record MatchCandidate(string Uid, string Name, MatchEvidence Evidence, bool Chosen);

/// <summary>The match of one (MCI, cloud).</summary>
/// <param name="Status">The status; <see cref="MatchStatus.Stale"/> keeps the last known image.</param>
/// <param name="Image">The chosen image, or null.</param>
/// <param name="Candidates">Every image that matched or was suspect, the chosen one marked.</param>
/// <param name="Rule">For ambiguous matches, the ordered rule that chose.</param>
/// <param name="Reason">Why, in words for the user.</param>
/// <param name="MatcherId">The matcher behind the result; null for a hand-written setting.</param>
/// <param name="Fingerprint">What to upload when nothing matches.</param>
public sealed record MatchResult(
    string MciId,
    MatchCloud Cloud,
    MatchStatus Status,
    MatchCandidate? Image,
    IReadOnlyList<MatchCandidate> Candidates,
    string? Rule,
    string Reason,
    string? MatcherId,
    Fingerprint? Fingerprint)
{
    /// <summary>True when a server can launch from this match (a stale match keeps its last known image).</summary>
    public bool Resolves => Image is not null && Status is MatchStatus.Matched or MatchStatus.Ambiguous or MatchStatus.Stale;
}

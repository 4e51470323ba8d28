namespace Imprint.Core.Matching;

/// <summary>The state of one (MCI, cloud), as DESIGN.md defines it.</summary>
public enum MatchStatus
{
    /// <summary>One image, linked.</summary>
    Matched,
    /// <summary>Several images match; one is chosen by the rule the map shows.</summary>
    Ambiguous,
    /// <summary>Nothing matches: upload the fingerprint's image, ask the cloud's administrator.</summary>
    NoMatch,
    /// <summary>A hand-written setting's image uid no longer exists in the cloud.</summary>
    Missing,
    /// <summary>An image carries the expected name but matches no digest, or its file digests contradict the fingerprint.</summary>
    Suspect,
    /// <summary>The cloud could not be reached on the last rematch: the last known result is kept.</summary>
    Stale,
}

/// <summary>How an image came to be a candidate.</summary>
public enum MatchEvidence
{
    /// <summary>A hand-written setting names the image.</summary>
    Setting,
    /// <summary>File digests agree: the same file.</summary>
    SameFile,
    /// <summary><c>disk-sha256</c> agrees: the same content after a conversion.</summary>
    SameContent,
    /// <summary>File digests agree on one algorithm and disagree on another.</summary>
    Contradiction,
    /// <summary>The image has the expected name but none of the fingerprint's digests.</summary>
    NameOnly,
}

/// <summary>The API spellings of match statuses and evidence.</summary>
public static class MatchNames
{
    /// <summary><c>matched</c>, <c>ambiguous</c>, <c>no-match</c>, <c>missing</c>, <c>suspect</c>, <c>stale</c>.</summary>
    public static string ToApi(this MatchStatus status) => status switch
    {
        MatchStatus.Matched => "matched",
        MatchStatus.Ambiguous => "ambiguous",
        MatchStatus.NoMatch => "no-match",
        MatchStatus.Missing => "missing",
        MatchStatus.Suspect => "suspect",
        MatchStatus.Stale => "stale",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    /// <summary><c>setting</c>, <c>same-file</c>, <c>same-content</c>, <c>contradiction</c>, <c>name-only</c>.</summary>
    public static string ToApi(this MatchEvidence evidence) => evidence switch
    {
        MatchEvidence.Setting => "setting",
        MatchEvidence.SameFile => "same-file",
        MatchEvidence.SameContent => "same-content",
        MatchEvidence.Contradiction => "contradiction",
        MatchEvidence.NameOnly => "name-only",
        _ => throw new ArgumentOutOfRangeException(nameof(evidence), evidence, null),
    };

    /// <summary>Parses the API spelling of a status.</summary>
    public static MatchStatus ParseStatus(string text) =>
        Enum.GetValues<MatchStatus>().First(s => s.ToApi() == text);
}

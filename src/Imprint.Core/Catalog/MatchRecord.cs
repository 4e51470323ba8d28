namespace Imprint.Core.Catalog;

/// <summary>The stored state of one (MCI, cloud): what the last rematch found.</summary>
public sealed class MatchRecord
{
    public required string AccountId { get; set; }
    public required string MciId { get; set; }
    public required string CloudId { get; set; }
    public required string Status { get; set; }
    public string? ImageUid { get; set; }
    public string? ImageName { get; set; }
    /// <summary>Every image that matched (or was suspect), JSON array.</summary>
    public string Candidates { get; set; } = "[]";
    public string? Rule { get; set; }
    public string? Reason { get; set; }
    /// <summary>The matcher behind the result, or null for a hand-written setting.</summary>
    public string? MatcherId { get; set; }
    /// <summary>When the result last changed (a recompute that finds the same result does not rewrite the record).</summary>
    public DateTimeOffset ChangedAt { get; set; }
}

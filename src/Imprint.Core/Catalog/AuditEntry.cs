namespace Imprint.Core.Catalog;

/// <summary>One change: who (which token) did what to which resource, and when.</summary>
public sealed class AuditEntry
{
    public long Id { get; set; }
    public required string AccountId { get; set; }
    public string? TokenId { get; set; }
    /// <summary>e.g. <c>cloud.create</c>, <c>mci.commit</c>, <c>cloud.rematch</c>.</summary>
    public required string Action { get; set; }
    public required string ResourceId { get; set; }
    /// <summary>A short JSON summary of the change.</summary>
    public string? Details { get; set; }
    public DateTimeOffset At { get; set; }
}

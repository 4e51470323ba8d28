namespace Imprint.Core.Catalog;

/// <summary>
/// A committed ServerTemplate revision published to the Marketplace. It is a snapshot: the template, its committed MCIs
/// and their matchers as they were, so that what importers get never changes under them and never reaches back into
/// the publisher's account. It belongs to the publisher's account but every account sees it.
/// </summary>
public sealed class Publication
{
    public required string Id { get; set; }
    /// <summary>The publisher's account: the only one that may withdraw it.</summary>
    public required string AccountId { get; set; }
    /// <summary>The published revision's own id in the publisher's account.</summary>
    public required string ServerTemplateId { get; set; }
    /// <summary>The template's lineage: importers keep it, so that a newer revision of the same lineage is recognised.</summary>
    public required string Lineage { get; set; }
    public int Revision { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    /// <summary>The JSON snapshot of the template and its MCIs with their matchers (never settings, never credentials).</summary>
    public required string Snapshot { get; set; }
    public DateTimeOffset PublishedAt { get; set; }
    /// <summary>Set when the publisher withdraws it: it leaves the Marketplace; copies already imported stay.</summary>
    public DateTimeOffset? WithdrawnAt { get; set; }
}

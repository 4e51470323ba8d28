namespace Imprint.Core.Catalog;

/// <summary>
/// What MCIs and ServerTemplates share: a name, and revisions of one lineage. Revision 0 is HEAD and editable; a commit
/// copies HEAD into an immutable numbered revision of the same lineage.
/// </summary>
public abstract class Revisioned
{
    public required string Id { get; set; }
    public required string AccountId { get; set; }
    /// <summary>Shared by a HEAD and its committed revisions; travels through publish/import.</summary>
    public required string Lineage { get; set; }
    public int Revision { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public string? CommitMessage { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    public bool IsHead => Revision == 0;
}

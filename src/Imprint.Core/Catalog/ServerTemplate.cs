namespace Imprint.Core.Catalog;

/// <summary>A named server definition listing MCIs, exactly one of them the default. Revisioned like an MCI.</summary>
public sealed class ServerTemplate
{
    public required string Id { get; set; }
    public required string AccountId { get; set; }
    public required string Lineage { get; set; }
    public int Revision { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public string? CommitMessage { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    public bool IsHead => Revision == 0;
}

/// <summary>The link between a ServerTemplate and one of its MCIs.</summary>
public sealed class ServerTemplateMci
{
    public required string AccountId { get; set; }
    public required string ServerTemplateId { get; set; }
    public required string MciId { get; set; }
    public bool IsDefault { get; set; }
    /// <summary>Order of the MCIs: a launch without MCI tries the default, then these in order.</summary>
    public int Position { get; set; }
}

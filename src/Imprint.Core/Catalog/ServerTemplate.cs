namespace Imprint.Core.Catalog;

/// <summary>A named server definition listing MCIs, exactly one of them the default; its MCI links are copied with it.</summary>
public sealed class ServerTemplate : Revisioned;

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

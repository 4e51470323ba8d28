namespace Imprint.Core.Catalog;

/// <summary>A tenant. Every other row belongs to exactly one account.</summary>
public sealed class Account
{
    public required string Id { get; set; }
    public required string Name { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

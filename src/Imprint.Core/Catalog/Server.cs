namespace Imprint.Core.Catalog;

/// <summary>A launch request, resolved to one image.</summary>
public sealed class Server
{
    public required string Id { get; set; }
    public required string AccountId { get; set; }
    public required string Name { get; set; }
    public required string ServerTemplateId { get; set; }
    public required string CloudId { get; set; }
    public required string MciId { get; set; }
    public required string ImageUid { get; set; }
    public string? InstanceType { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

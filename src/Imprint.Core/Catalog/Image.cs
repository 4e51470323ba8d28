namespace Imprint.Core.Catalog;

/// <summary>One machine image as a cloud reported it in its last good inventory.</summary>
public sealed class Image
{
    public long Id { get; set; }
    public required string AccountId { get; set; }
    public required string CloudId { get; set; }
    /// <summary>The image's id in its cloud (for a folder: the path relative to the folder).</summary>
    public required string Uid { get; set; }
    public required string Name { get; set; }
    /// <summary>Only <c>active</c> images can match.</summary>
    public string Status { get; set; } = ImageStatuses.Active;
    public string Visibility { get; set; } = "private";
    public string? DiskFormat { get; set; }
    public long? Size { get; set; }
    public long? VirtualSize { get; set; }
    /// <summary>Digests separated by spaces, <c>algorithm:hex</c>, lowercase.</summary>
    public string Digests { get; set; } = "";
    /// <summary>Properties or tags as a JSON object.</summary>
    public string Properties { get; set; } = "{}";
    public DateTimeOffset? CreatedAt { get; set; }
    public DateTimeOffset? UpdatedAt { get; set; }
    public string? Href { get; set; }
    public string? ConsoleUrl { get; set; }
}

/// <summary>Image statuses.</summary>
public static class ImageStatuses
{
    public const string Active = "active";
}

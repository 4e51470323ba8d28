namespace Imprint.Core.Catalog;

/// <summary>The portable part of an MCI: a cloud kind and a fingerprint that rematch turns into settings.</summary>
public sealed class Matcher
{
    public required string Id { get; set; }
    public required string AccountId { get; set; }
    public required string MciId { get; set; }
    public required string CloudKind { get; set; }
    /// <summary>The fingerprint's digests separated by spaces.</summary>
    public required string Fingerprint { get; set; }
    /// <summary>The name the image is expected to have: an image so named whose digests do not match is suspect.</summary>
    public string? ImageName { get; set; }
    /// <summary>
    /// The virtual disk size in bytes of the image the fingerprint was made from, or null when unknown. A connector that
    /// must download images to learn their content digest skips those whose virtual size is known and differs.
    /// </summary>
    public long? VirtualSize { get; set; }
    public string? UserData { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

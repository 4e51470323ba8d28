using System.Text.Json;
using Imprint.Core.Catalog;

namespace Imprint.Marketplace;

/// <summary>
/// What a publication carries: the template revision, its committed MCIs and their matchers. Settings are left out on
/// purpose: they name the publisher's own clouds and images, which mean nothing (and must reveal nothing) elsewhere.
/// </summary>
internal sealed record PublicationSnapshot(PublishedTemplate Template, IReadOnlyList<PublishedMci> MultiCloudImages)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Serialize() => JsonSerializer.Serialize(this, Json);

    public static PublicationSnapshot Parse(string json) =>
        JsonSerializer.Deserialize<PublicationSnapshot>(json, Json) ?? throw new InvalidOperationException("a publication without snapshot");
}

internal sealed record PublishedTemplate(string Name, string? Description, string Lineage, int Revision, string? CommitMessage);

internal sealed record PublishedMci(string Name, string? Description, string Lineage, int Revision, string? CommitMessage,
    bool IsDefault, int Position, IReadOnlyList<PublishedMatcher> Matchers);

/// <param name="VirtualSize">Null in snapshots published before matchers had a virtual size, as for an unknown one.</param>
internal sealed record PublishedMatcher(string CloudKind, IReadOnlyList<string> Fingerprint, string? ImageName, string? UserData, long? VirtualSize = null)
{
    public static PublishedMatcher From(Matcher m) =>
        new(m.CloudKind, m.Fingerprint.Split(' ', StringSplitOptions.RemoveEmptyEntries), m.ImageName, m.UserData, m.VirtualSize);
}

using System.Text.Json;
using Imprint.Clouds;
using Imprint.Core.Catalog;
using Imprint.Core.Digests;
using Imprint.Core.Matching;

namespace Imprint.Rematch;

/// <summary>Conversions between stored images, connector inventories and the matcher's view.</summary>
internal static class InventoryMapping
{
    public static IReadOnlyList<Digest> ParseDigests(string digests)
    {
        if (digests.Length == 0)
            return [];
        var parts = digests.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var result = new List<Digest>(parts.Length);
        foreach (var part in parts)
        {
            var parsed = Digest.Parse(part);
            if (parsed.Success)
                result.Add(parsed.Value);
        }
        return result;
    }

    public static string FormatDigests(IEnumerable<Digest> digests) => string.Join(' ', digests);

    public static MatchImage ToMatchImage(Image image) =>
        new(image.Uid, image.Name, image.Status, image.Visibility, image.CreatedAt, [.. ParseDigests(image.Digests)]);

    public static MatchImage ToMatchImage(InventoryImage image) =>
        new(image.Uid, image.Name, image.Status, image.Visibility, image.CreatedAt, [.. image.Digests]);

    public static InventoryImage ToInventoryImage(Image image) =>
        new(image.Uid, image.Name, image.Status, image.Visibility, image.DiskFormat, image.Size, image.VirtualSize,
            ParseDigests(image.Digests), JsonSerializer.Deserialize<Dictionary<string, string>>(image.Properties) ?? [],
            image.CreatedAt, image.UpdatedAt, image.Href, image.ConsoleUrl);

    /// <summary>Copies a reported image onto a stored row; returns true when anything changed.</summary>
    public static bool CopyTo(InventoryImage source, Image target)
    {
        var digests = FormatDigests(source.Digests);
        var properties = JsonSerializer.Serialize(source.Properties.OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary());
        var changed = target.Name != source.Name || target.Status != source.Status || target.Visibility != source.Visibility
            || target.DiskFormat != source.DiskFormat || target.Size != source.Size || target.VirtualSize != source.VirtualSize
            || target.Digests != digests || target.Properties != properties || target.CreatedAt != source.CreatedAt
            || target.UpdatedAt != source.UpdatedAt || target.Href != source.Href || target.ConsoleUrl != source.ConsoleUrl;
        if (!changed)
            return false;
        target.Name = source.Name;
        target.Status = source.Status;
        target.Visibility = source.Visibility;
        target.DiskFormat = source.DiskFormat;
        target.Size = source.Size;
        target.VirtualSize = source.VirtualSize;
        target.Digests = digests;
        target.Properties = properties;
        target.CreatedAt = source.CreatedAt;
        target.UpdatedAt = source.UpdatedAt;
        target.Href = source.Href;
        target.ConsoleUrl = source.ConsoleUrl;
        return true;
    }
}

using System.Globalization;
using System.Text.Json;
using Imprint.Core.Digests;

namespace Imprint.Clouds.OpenStack;

/// <summary>Maps one Glance v2 image record to an inventory image.</summary>
internal static class GlanceImageMapper
{
    /// <summary>The property <c>imprint upload</c> writes: the image's content digest.</summary>
    public const string DiskSha256Property = "imprint_disk_sha256";

    /// <summary>The property <c>imprint upload</c> writes for the file's sha256, which Glance itself does not compute.</summary>
    public const string Sha256Property = "imprint_sha256";

    // Top-level fields that have a place of their own in an inventory image, or that are Glance plumbing.
    private static readonly HashSet<string> Mapped = new(StringComparer.Ordinal)
    {
        "id", "name", "status", "visibility", "disk_format", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
        "created_at", "updated_at", "self", "file", "schema", "locations", "direct_url",
    };

    public static InventoryImage Map(JsonElement image, string imageUrl, string? dashboardUrl)
    {
        var id = Text(image, "id") ?? throw new OpenStackFault("Glance listed an image without an id");
        var digests = new List<Digest>(4);
        AddDigest(digests, DigestAlgorithm.Md5, Text(image, "checksum"));
        // os_hash_algo is sha512 by default, but a cloud may configure another hashlib algorithm.
        if (Text(image, "os_hash_algo") is { } algorithmName && DigestAlgorithms.TryParse(algorithmName, out var algorithm) && algorithm.IsFileDigest())
            AddDigest(digests, algorithm, Text(image, "os_hash_value"));

        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in image.EnumerateObject())
        {
            if (Mapped.Contains(property.Name))
                continue;
            var value = property.Value;
            switch (value.ValueKind)
            {
                case JsonValueKind.Null:
                    continue;
                case JsonValueKind.String:
                    properties[property.Name] = value.GetString()!;
                    break;
                case JsonValueKind.Array when property.Name == "tags":
                    properties["tags"] = string.Join(',', value.EnumerateArray().Select(t => t.ToString()).Order(StringComparer.Ordinal));
                    break;
                default:
                    properties[property.Name] = value.GetRawText();
                    break;
            }
        }
        if (properties.TryGetValue(Sha256Property, out var sha256))
            AddDigest(digests, DigestAlgorithm.Sha256, sha256);
        if (properties.TryGetValue(DiskSha256Property, out var disk))
            AddDigest(digests, DigestAlgorithm.DiskSha256, disk);

        return new InventoryImage(
            id,
            Text(image, "name") ?? "",
            Text(image, "status") ?? "unknown",
            Text(image, "visibility") ?? "private",
            Text(image, "disk_format"),
            Number(image, "size"),
            Number(image, "virtual_size"),
            digests,
            properties,
            Time(image, "created_at"),
            Time(image, "updated_at"),
            $"{imageUrl}/v2/images/{id}",
            dashboardUrl is null ? null : $"{dashboardUrl}/project/images/{id}/");
    }

    private static void AddDigest(List<Digest> digests, DigestAlgorithm algorithm, string? hex)
    {
        if (string.IsNullOrEmpty(hex))
            return;
        // A property written by hand may hold anything: only a well-formed digest counts.
        var parsed = Digest.Parse($"{algorithm.Name()}:{hex.Trim().ToLowerInvariant()}");
        if (parsed.Success && !digests.Any(d => d.Algorithm == algorithm))
            digests.Add(parsed.Value);
    }

    public static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long? Number(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;

    public static DateTimeOffset? Time(JsonElement element, string name) =>
        Text(element, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : null;
}

using System.Text.Json;

namespace Imprint.Clouds.OpenStack;

/// <summary>
/// What an openstack cloud keeps between syncs (the caller persists it with the inventory it belongs to):
/// <c>{"v": 1, "imageUrl": "http://glance:9292", "watermark": "2026-01-02T03:04:05+00:00", "syncsSinceFull": 3}</c>.
/// The watermark is the latest <c>updated_at</c> Glance reported, in Glance's clock, so our clock's skew does not matter.
/// </summary>
internal sealed record GlanceSyncState(int V, string ImageUrl, DateTimeOffset? Watermark, int SyncsSinceFull)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The state, or null when there is none or it is not ours (then the next sync is a full one).</summary>
    public static GlanceSyncState? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        try
        {
            var state = JsonSerializer.Deserialize<GlanceSyncState>(text, Json);
            return state is { V: 1 } ? state : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public string Serialize() => JsonSerializer.Serialize(this, Json);
}

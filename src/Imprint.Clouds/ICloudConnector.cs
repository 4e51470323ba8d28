using Imprint.Core.Digests;

namespace Imprint.Clouds;

/// <summary>One connector per cloud kind: it lists a cloud's images. It never decides a match.</summary>
public interface ICloudConnector
{
    /// <summary>The cloud kind this connector serves, e.g. <c>folder</c>.</summary>
    string Kind { get; }

    /// <summary>
    /// Lists every image of the cloud. <paramref name="previous"/> is the last good inventory, which a connector may use
    /// to avoid work (unchanged files are not hashed again; an incremental listing only asks for what changed). It is
    /// still being loaded when the connector is called: await it when it is needed, so that asking the cloud and reading
    /// the stored inventory overlap. An unreachable or unreadable cloud is a failed <see cref="SyncResult"/>, never an
    /// empty inventory.
    /// </summary>
    Task<SyncResult> SyncAsync(CloudEndpoint cloud, Task<IReadOnlyList<InventoryImage>> previous, CancellationToken cancellationToken);
}

/// <summary>Conveniences over <see cref="ICloudConnector"/>.</summary>
public static class CloudConnectorExtensions
{
    /// <summary>Lists every image of the cloud, given a previous inventory already at hand.</summary>
    public static Task<SyncResult> SyncAsync(this ICloudConnector connector, CloudEndpoint cloud, IReadOnlyList<InventoryImage> previous,
        CancellationToken cancellationToken) =>
        connector.SyncAsync(cloud, Task.FromResult(previous), cancellationToken);
}

/// <summary>What a connector needs to reach a cloud.</summary>
/// <param name="Credentials">Decrypted credentials, or null. Never log them.</param>
/// <param name="SyncState">What the connector kept from its last successful sync (e.g. a watermark), or null.</param>
/// <param name="WantedContent">The <c>disk-sha256</c> digests that matchers of this cloud's kind look for, with their virtual sizes:
/// a connector that can fingerprint image content (by downloading it) only needs to for images that could match one; null = none.</param>
public sealed record CloudEndpoint(
    string Id,
    string Name,
    string Endpoint,
    string? Region,
    string? Credentials,
    string? SyncState,
    WantedContent? WantedContent = null);

/// <summary>One image as the cloud reports it.</summary>
public sealed record InventoryImage(
    string Uid,
    string Name,
    string Status,
    string Visibility,
    string? DiskFormat,
    long? Size,
    long? VirtualSize,
    IReadOnlyList<Digest> Digests,
    IReadOnlyDictionary<string, string> Properties,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? UpdatedAt,
    string? Href = null,
    string? ConsoleUrl = null);

/// <summary>A complete inventory, or why the cloud could not be listed.</summary>
public sealed record SyncResult(IReadOnlyList<InventoryImage>? Images, string? Error, string? SyncState = null)
{
    /// <summary>True when <see cref="Images"/> is the cloud's complete inventory.</summary>
    public bool Success => Images is not null;

    /// <summary>A successful sync.</summary>
    public static SyncResult Ok(IReadOnlyList<InventoryImage> images, string? syncState = null) => new(images, null, syncState);

    /// <summary>A failed sync: the last good inventory must be kept.</summary>
    public static SyncResult Failed(string error) => new(null, error);
}

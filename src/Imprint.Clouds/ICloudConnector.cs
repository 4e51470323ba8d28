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
/// <param name="Content">What the connector did to learn image contents (downloads to fingerprint), when it does such work.</param>
public sealed record SyncResult(IReadOnlyList<InventoryImage>? Images, string? Error, string? SyncState = null, ContentFingerprinting? Content = null)
{
    /// <summary>True when <see cref="Images"/> is the cloud's complete inventory.</summary>
    public bool Success => Images is not null;

    /// <summary>A successful sync.</summary>
    public static SyncResult Ok(IReadOnlyList<InventoryImage> images, string? syncState = null, ContentFingerprinting? content = null) =>
        new(images, null, syncState, content);

    /// <summary>A failed sync: the last good inventory must be kept.</summary>
    public static SyncResult Failed(string error) => new(null, error);
}

/// <summary>
/// The images a sync downloaded to compute their content digest, and those it left for a later sync (the per-sync byte
/// cap was reached, or the download broke off).
/// </summary>
/// <param name="Fingerprinted">Images whose content digest was computed from a download.</param>
/// <param name="Bytes">Bytes downloaded for that (the sizes of the images whose download was started).</param>
/// <param name="Deferred">Uids of the images that wait for a later sync.</param>
/// <param name="Unreadable">Uids of the images this sync downloaded and found not to be a disk image Imprint can read (they are not downloaded again).</param>
public sealed record ContentFingerprinting(int Fingerprinted, long Bytes, IReadOnlyList<string> Deferred, IReadOnlyList<string> Unreadable);

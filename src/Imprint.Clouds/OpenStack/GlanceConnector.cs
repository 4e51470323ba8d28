using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Imprint.Core.Digests;
using Imprint.DiskImages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Imprint.Clouds.OpenStack;

/// <summary>
/// The <c>openstack</c> connector: lists a Glance v2 image service (Keystone v3 authentication, or none for a noauth Glance),
/// incrementally after a first full listing, and fingerprints the content of images that carry no <c>disk-sha256</c> when a
/// matcher looks for one. The endpoint is the Keystone v3 URL when the cloud has credentials, else the Glance URL.
/// </summary>
public sealed class GlanceConnector : ICloudConnector
{
    /// <summary>Inventory property (ours, not Glance's) saying how the image's content digest is known or why it is not.</summary>
    public const string ContentProperty = "imprint:content";

    private static readonly HashSet<string> ReadableFormats = new(StringComparer.Ordinal) { "raw", "qcow2", "vmdk", "vhd", "vhdx" };

    private readonly IHttpClientFactory _httpFactory;
    private readonly KeystoneAuthenticator _keystone;
    private readonly IOptions<OpenStackOptions> _options;
    private readonly ILogger<GlanceConnector> _logger;

    internal GlanceConnector(IHttpClientFactory httpFactory, KeystoneAuthenticator keystone, IOptions<OpenStackOptions> options, ILogger<GlanceConnector> logger)
    {
        _httpFactory = httpFactory;
        _keystone = keystone;
        _options = options;
        _logger = logger;
    }

    /// <inheritdoc />
    public string Kind => "openstack";

    /// <summary>Glance requests of the last sync of each cloud (the benchmark and tests check the request count).</summary>
    internal IReadOnlyDictionary<string, int> LastRequestCounts => _lastRequests;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _lastRequests = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async Task<SyncResult> SyncAsync(CloudEndpoint cloud, Task<IReadOnlyList<InventoryImage>> previousInventory, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var options = _options.Value;
        GlanceSession? session = null;
        try
        {
            session = await GlanceSession.OpenAsync(cloud, _httpFactory, _keystone, options, _logger, cancellationToken);
            var state = GlanceSyncState.Parse(cloud.SyncState);
            var incremental = state is { Watermark: not null } && state.ImageUrl == session.ImageUrl && state.SyncsSinceFull + 1 < options.FullSyncEvery;

            var query = $"/v2/images?limit={options.PageSize}&visibility=all";
            if (incremental)
            {
                var since = (state!.Watermark!.Value - options.WatermarkOverlap).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
                query += "&updated_at=gt:" + Uri.EscapeDataString(since);
            }
            var (listed, pages) = await ListAsync(session, query, cancellationToken);
            var previous = await previousInventory;

            Dictionary<string, InventoryImage> inventory;
            if (incremental)
            {
                // Deleted images do not show in a "changed since" listing: the full reconciliation every N syncs removes them.
                inventory = previous.ToDictionary(i => i.Uid, StringComparer.Ordinal);
                foreach (var image in listed)
                    inventory[image.Uid] = image;
            }
            else
            {
                inventory = new Dictionary<string, InventoryImage>(listed.Count, StringComparer.Ordinal);
                foreach (var image in listed)
                    inventory[image.Uid] = image;
            }

            var content = await FingerprintContentAsync(session, cloud, inventory, previous, options, cancellationToken);
            var watermark = listed.Select(i => i.UpdatedAt).Append(incremental ? state!.Watermark : null).Max();
            var newState = new GlanceSyncState(1, session.ImageUrl, watermark, incremental ? state!.SyncsSinceFull + 1 : 0);
            var images = inventory.Values.OrderBy(i => i.Uid, StringComparer.Ordinal).ToList();
            _lastRequests[cloud.Id] = session.Requests;
            Log.GlanceSynced(_logger, cloud.Id, incremental ? "incremental" : "full", listed.Count, pages, images.Count, content.Fingerprinted, content.Bytes,
                content.Deferred.Count, clock.ElapsedMilliseconds);
            return SyncResult.Ok(images, newState.Serialize(), content);
        }
        catch (OpenStackFault fault)
        {
            if (session is not null)
                _lastRequests[cloud.Id] = session.Requests;
            Log.GlanceSyncFailed(_logger, cloud.Id, fault.Message);
            return SyncResult.Failed(fault.Message);
        }
    }

    /// <summary>Lists every page, following <c>next</c> (Glance adds it only to a full page).</summary>
    private static async Task<(List<InventoryImage> Images, int Pages)> ListAsync(GlanceSession session, string firstPage, CancellationToken cancellationToken)
    {
        var images = new List<InventoryImage>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? next = firstPage;
        var pages = 0;
        while (next is not null)
        {
            pages++;
            using var page = await session.GetJsonAsync(next, cancellationToken);
            var root = page.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("images", out var list) || list.ValueKind != JsonValueKind.Array)
                throw new OpenStackFault($"Glance answered page {pages} of the image list without an \"images\" array: is {session.ImageUrl} a Glance v2 endpoint?");
            foreach (var item in list.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object)
                    throw new OpenStackFault($"Glance listed something that is not an image on page {pages}");
                var image = GlanceImageMapper.Map(item, session.ImageUrl, session.DashboardUrl);
                if (seen.Add(image.Uid))
                    images.Add(image);
            }
            var following = GlanceImageMapper.Text(root, "next");
            if (following is not null && following == next)
                throw new OpenStackFault($"Glance answered page {pages} with a next link to the same page");
            next = list.GetArrayLength() == 0 ? null : following;
        }
        return (images, pages);
    }

    /// <summary>
    /// Gives each image without a content digest the one it can have without downloading (same file digest as an image
    /// fingerprinted before), and when matchers look for content digests, downloads and fingerprints the others whose virtual
    /// size could match, smallest first, up to the byte cap; what the cap defers is marked in <see cref="ContentProperty"/> and done next time.
    /// </summary>
    private async Task<ContentFingerprinting> FingerprintContentAsync(GlanceSession session, CloudEndpoint cloud, Dictionary<string, InventoryImage> inventory,
        IReadOnlyList<InventoryImage> previous, OpenStackOptions options, CancellationToken cancellationToken)
    {
        // The cache: the cloud's own file digest -> what Imprint learnt about those bytes before. Same bytes, never twice.
        var known = new Dictionary<string, (Digest? Disk, string Note)>(StringComparer.Ordinal);
        foreach (var image in previous.Concat(inventory.Values))
        {
            if (FileKey(image) is not { } key || known.ContainsKey(key))
                continue;
            var disk = image.Digests.FirstOrDefault(d => d.Algorithm == DigestAlgorithm.DiskSha256);
            var note = image.Properties.GetValueOrDefault(ContentProperty);
            if (disk.Algorithm == DigestAlgorithm.DiskSha256)
                known[key] = (disk, note ?? "computed");
            else if (note is not null && note.StartsWith("error", StringComparison.Ordinal))
                known[key] = (null, note);
        }

        var wanted = cloud.WantedContent ?? WantedContent.None;
        long bytes = 0;
        var fingerprinted = 0;
        List<string> deferred = [], unreadable = [];
        foreach (var listed in inventory.Values.OrderBy(i => i.Size ?? 0).ThenBy(i => i.Uid, StringComparer.Ordinal).ToList())
        {
            // A deferral is decided afresh each time, so an incremental sync ends where a full one would.
            var image = listed;
            if (image.Properties.TryGetValue(ContentProperty, out var oldNote) && oldNote.StartsWith("deferred", StringComparison.Ordinal))
            {
                image = image with { Properties = image.Properties.Where(p => p.Key != ContentProperty).ToDictionary(StringComparer.Ordinal) };
                inventory[image.Uid] = image;
            }
            if (image.Digests.Any(d => d.Algorithm == DigestAlgorithm.DiskSha256) || image.Status != "active" || image.Size is null or 0)
                continue;
            if (FileKey(image) is not { } key)
                continue;
            if (known.TryGetValue(key, out var cached))
            {
                inventory[image.Uid] = WithContent(image, cached.Disk, cached.Note);
                continue;
            }
            // The content digest covers the virtual size: an image whose size Glance knows and no wanted digest has is not downloaded.
            if (!wanted.CouldMatch(image.VirtualSize) || image.DiskFormat is not { } format || !ReadableFormats.Contains(format))
                continue;
            // The first download of a rematch always goes, or an image larger than the cap would be deferred forever.
            if (bytes > 0 && bytes + image.Size.Value > options.ContentByteCap)
            {
                deferred.Add(image.Uid);
                inventory[image.Uid] = WithContent(image, null,
                    $"deferred: the per-rematch download cap ({options.ContentByteCap} bytes) was reached; fingerprinted on a later rematch");
                continue;
            }
            bytes += image.Size.Value;
            var (digest, note) = await FingerprintAsync(session, cloud, image, cancellationToken);
            inventory[image.Uid] = WithContent(image, digest, note);
            // A download that broke off is retried next time; bytes that are not a readable image are not.
            if (digest is not null)
                fingerprinted++;
            else if (note.StartsWith("error", StringComparison.Ordinal))
                unreadable.Add(image.Uid);
            else
                deferred.Add(image.Uid);
            if (digest is not null || note.StartsWith("error", StringComparison.Ordinal))
                known[key] = (digest, note);
        }
        return new ContentFingerprinting(fingerprinted, bytes, deferred, unreadable);
    }

    private async Task<(Digest? Digest, string Note)> FingerprintAsync(GlanceSession session, CloudEndpoint cloud, InventoryImage image, CancellationToken cancellationToken)
    {
        Log.Fingerprinting(_logger, image.Uid, cloud.Id, image.Size);
        try
        {
            var file = new GlanceImageFile(session, image.Uid, image.Size!.Value);
            // The format comes from the bytes' magic; a fixed VHD has none (only a footer), so Glance's word is taken for it.
            var options = new FingerprintOptions { Algorithms = [DigestAlgorithm.DiskSha256], Format = image.DiskFormat == "vhd" ? "vhd" : null };
            var result = await ImageFingerprinter.FingerprintRangesAsync(file, options, cancellationToken);
            if (!result.Success)
            {
                Log.FingerprintFailed(_logger, image.Uid, cloud.Id, result.Error!);
                return (null, "error: " + result.Error);
            }
            return (result.Fingerprint!.Digests.Single(d => d.Algorithm == DigestAlgorithm.DiskSha256), "computed");
        }
        catch (ImageSourceException e)
        {
            // The listing succeeded: one image that cannot be downloaded now must not fail the whole sync.
            Log.FingerprintFailed(_logger, image.Uid, cloud.Id, e.Message);
            return (null, "deferred: download failed: " + e.Message);
        }
    }

    private static InventoryImage WithContent(InventoryImage image, Digest? disk, string note)
    {
        var properties = new Dictionary<string, string>(image.Properties, StringComparer.Ordinal) { [ContentProperty] = note };
        var digests = disk is { } d ? image.Digests.Where(x => x.Algorithm != DigestAlgorithm.DiskSha256).Append(d).ToList() : image.Digests;
        return image with { Digests = digests, Properties = properties };
    }

    /// <summary>The cloud's own digest of the image file: os_hash_value when there is one, else the md5 checksum.</summary>
    private static string? FileKey(InventoryImage image)
    {
        string? best = null;
        foreach (var digest in image.Digests)
        {
            if (!digest.IsFileDigest || digest.Algorithm == DigestAlgorithm.Sha256)
                continue;
            if (best is null || digest.Algorithm != DigestAlgorithm.Md5)
                best = digest.ToString();
        }
        return best;
    }
}

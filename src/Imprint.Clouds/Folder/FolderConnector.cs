using System.Globalization;
using Imprint.DiskImages;

namespace Imprint.Clouds.Folder;

/// <summary>
/// A directory of image files as a private cloud (an NFS image share, a libvirt pool). Image uid = path relative to
/// the folder, name = file name. Digests are computed once per (path, size, modification time): a file whose size and
/// time are those of the last good inventory keeps its digests, so rematching an unchanged folder reads no image bytes.
/// </summary>
public sealed class FolderConnector : ICloudConnector
{
    private const string ModifiedProperty = "mtime";

    /// <inheritdoc />
    public string Kind => "folder";

    /// <inheritdoc />
    public async Task<SyncResult> SyncAsync(CloudEndpoint cloud, Task<IReadOnlyList<InventoryImage>> previous, CancellationToken cancellationToken)
    {
        var root = cloud.Endpoint;
        if (!Directory.Exists(root))
            return SyncResult.Failed($"folder {root} does not exist or is not a directory");

        List<FileInfo> files;
        try
        {
            var options = new EnumerationOptions
            {
                RecurseSubdirectories = true,
                IgnoreInaccessible = false,
                AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
            };
            files = [.. new DirectoryInfo(root).EnumerateFiles("*", options).Where(f => !f.Name.StartsWith('.'))];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            return SyncResult.Failed($"folder {root} cannot be read: {e.Message}");
        }

        var known = (await previous).ToDictionary(i => i.Uid, StringComparer.Ordinal);
        var images = new List<InventoryImage>(files.Count);
        foreach (var file in files.OrderBy(f => f.FullName, StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var uid = Path.GetRelativePath(root, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
            var modified = new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero);
            var stamp = modified.ToString("O", CultureInfo.InvariantCulture);
            if (known.TryGetValue(uid, out var old) && old.Size == file.Length
                && old.Properties.TryGetValue(ModifiedProperty, out var oldStamp) && oldStamp == stamp)
            {
                images.Add(old);
                continue;
            }
            images.Add(await DescribeAsync(file, uid, stamp, modified, cancellationToken));
        }
        return SyncResult.Ok(images);
    }

    private static async Task<InventoryImage> DescribeAsync(FileInfo file, string uid, string stamp, DateTimeOffset modified, CancellationToken cancellationToken)
    {
        FingerprintResult result;
        try
        {
            result = await ImageFingerprinter.FingerprintFileAsync(file.FullName, new FingerprintOptions(), cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            result = new FingerprintResult(null, e.Message);
        }
        var properties = new Dictionary<string, string>(StringComparer.Ordinal) { [ModifiedProperty] = stamp };
        if (!result.Success)
        {
            // A file that is not a readable image is listed, so the user sees it, but it can never match.
            properties["error"] = result.Error ?? "unreadable";
            return new InventoryImage(uid, file.Name, "invalid", "private", null, file.Length, null, [], properties, modified, modified);
        }
        var fingerprint = result.Fingerprint!;
        return new InventoryImage(uid, file.Name, "active", "private", fingerprint.Format, fingerprint.FileSize,
            fingerprint.VirtualSize, fingerprint.Digests, properties, modified, modified);
    }
}

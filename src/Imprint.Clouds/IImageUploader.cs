using Imprint.Core.Digests;

namespace Imprint.Clouds;

/// <summary>Uploads an image file into a cloud (the cloud administrator's <c>imprint upload</c>).</summary>
public interface IImageUploader
{
    /// <summary>The cloud kind this uploader serves, e.g. <c>openstack</c>.</summary>
    string Kind { get; }

    /// <summary>
    /// Creates the image, streams <paramref name="content"/> into it and checks that the cloud's digests of the stored file
    /// equal <see cref="ImageUpload.Digests"/>; on any failure the half-made image is deleted. A failure is a value.
    /// </summary>
    Task<UploadResult> UploadAsync(CloudEndpoint cloud, ImageUpload upload, Stream content, CancellationToken cancellationToken);
}

/// <summary>What to upload.</summary>
/// <param name="Name">The image name.</param>
/// <param name="DiskFormat">raw, qcow2, vmdk, vhd or vhdx.</param>
/// <param name="Length">The file's length in bytes, when known.</param>
/// <param name="Digests">The file digests and the <c>disk-sha256</c> computed where the file is (stored with the image and checked).</param>
public sealed record ImageUpload(string Name, string DiskFormat, long? Length, IReadOnlyList<Digest> Digests);

/// <summary>The uploaded image as the cloud now reports it, or why the upload failed.</summary>
/// <param name="Status">HTTP-like class of a failure: 400 bad request, 422 digests differ, 503 cloud unreachable.</param>
public sealed record UploadResult(InventoryImage? Image, string? Error, int Status = 200)
{
    /// <summary>True when <see cref="Image"/> is set.</summary>
    public bool Success => Image is not null;
}

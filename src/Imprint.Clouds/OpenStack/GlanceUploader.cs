using System.Net.Http.Headers;
using System.Security.Cryptography;
using Imprint.Core.Digests;
using Imprint.DiskImages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Imprint.Clouds.OpenStack;

/// <summary>
/// Uploads into Glance v2: <c>POST /v2/images</c> with the Imprint digests as properties, <c>PUT …/file</c> with the bytes,
/// then compares Glance's <c>checksum</c>/<c>os_hash_value</c> with the local digests and with the digests of the bytes that
/// actually went through. Any mismatch or failure deletes the image: a half-made or wrong image must not be matched.
/// </summary>
public sealed class GlanceUploader : IImageUploader
{
    private static readonly HashSet<string> Formats = new(StringComparer.Ordinal) { "raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso" };

    private readonly IHttpClientFactory _httpFactory;
    private readonly KeystoneAuthenticator _keystone;
    private readonly IOptions<OpenStackOptions> _options;
    private readonly ILogger<GlanceUploader> _logger;

    internal GlanceUploader(IHttpClientFactory httpFactory, KeystoneAuthenticator keystone, IOptions<OpenStackOptions> options, ILogger<GlanceUploader> logger)
    {
        _httpFactory = httpFactory;
        _keystone = keystone;
        _options = options;
        _logger = logger;
    }

    /// <inheritdoc />
    public string Kind => "openstack";

    /// <inheritdoc />
    public async Task<UploadResult> UploadAsync(CloudEndpoint cloud, ImageUpload upload, Stream content, CancellationToken cancellationToken)
    {
        if (!Formats.Contains(upload.DiskFormat))
            return new UploadResult(null, $"disk format '{upload.DiskFormat}' is not one Glance takes here: use one of {string.Join(", ", Formats)}", 400);
        GlanceSession session;
        try
        {
            session = await GlanceSession.OpenAsync(cloud, _httpFactory, _keystone, _options.Value, _logger, cancellationToken);
        }
        catch (OpenStackFault fault)
        {
            return new UploadResult(null, fault.Message, 503);
        }

        string id;
        try
        {
            id = await CreateAsync(session, upload, cancellationToken);
        }
        catch (OpenStackFault fault)
        {
            return new UploadResult(null, fault.Message, 503);
        }

        try
        {
            var sent = await PutFileAsync(session, id, upload, content, cancellationToken);
            using var json = await session.GetJsonAsync($"/v2/images/{id}", cancellationToken);
            var image = GlanceImageMapper.Map(json.RootElement, session.ImageUrl, session.DashboardUrl);
            if (Mismatch(image, upload.Digests, sent) is { } mismatch)
                return await FailAsync(session, cloud, id, mismatch, 422);
            if (image.Status != "active")
                return await FailAsync(session, cloud, id, $"Glance left the image in status '{image.Status}' after the upload", 422);
            Log.Uploaded(_logger, id, image.Size ?? 0, cloud.Id);
            return new UploadResult(image, null);
        }
        catch (OpenStackFault fault)
        {
            return await FailAsync(session, cloud, id, fault.Message, 503);
        }
        catch (OperationCanceledException)
        {
            await DeleteQuietlyAsync(session, id);
            throw;
        }
    }

    private static async Task<string> CreateAsync(GlanceSession session, ImageUpload upload, CancellationToken cancellationToken)
    {
        var body = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["name"] = upload.Name,
            ["disk_format"] = upload.DiskFormat,
            ["container_format"] = "bare",
        };
        foreach (var digest in upload.Digests)
        {
            var property = digest.Algorithm == DigestAlgorithm.DiskSha256 ? GlanceImageMapper.DiskSha256Property : "imprint_" + digest.Algorithm.Name();
            body[property] = digest.Hex;
        }
        using var response = await session.SendAsync(() => new HttpRequestMessage(HttpMethod.Post, session.Url("/v2/images")) 
        {
            Content = new StringContent(System.Text.Json.JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json"),
        },
            transfer: false, HttpCompletionOption.ResponseContentRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw await OpenStackHttp.DescribeAsync(response, GlanceSession.Peer, cancellationToken);
        using var json = await OpenStackHttp.ReadJsonAsync(response, GlanceSession.Peer, cancellationToken);
        return GlanceImageMapper.Text(json.RootElement, "id") ?? throw new OpenStackFault("Glance created an image without an id");
    }

    /// <summary>Streams the bytes to Glance while hashing what goes through: the digests of the bytes actually sent.</summary>
    private static async Task<IReadOnlyList<Digest>> PutFileAsync(GlanceSession session, string id, ImageUpload upload, Stream content, CancellationToken cancellationToken)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        using var sha512 = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        var hashing = new HashingReadStream(content, md5, sha512);
        using var response = await session.SendAsync(() =>
        {
            var body = new StreamContent(hashing, 1 << 20);
            body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            if (upload.Length is { } length)
                body.Headers.ContentLength = length;
            return new HttpRequestMessage(HttpMethod.Put, session.Url($"/v2/images/{id}/file")) { Content = body };
        }, transfer: true, HttpCompletionOption.ResponseContentRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw await OpenStackHttp.DescribeAsync(response, GlanceSession.Peer, cancellationToken);
        return [Digest.FromBytes(DigestAlgorithm.Md5, md5.GetHashAndReset()), Digest.FromBytes(DigestAlgorithm.Sha512, sha512.GetHashAndReset())];
    }

    /// <summary>Glance's digest against the local one and the one of the bytes sent, for every algorithm both know.</summary>
    private static string? Mismatch(InventoryImage image, IReadOnlyList<Digest> local, IReadOnlyList<Digest> sent)
    {
        var compared = 0;
        foreach (var glance in image.Digests.Where(d => d.IsFileDigest))
        {
            foreach (var (label, digests) in new[] { ("the local file's", local), ("the uploaded bytes'", sent) })
            {
                var other = digests.FirstOrDefault(d => d.Algorithm == glance.Algorithm);
                if (other.Algorithm != glance.Algorithm)
                    continue;
                compared++;
                if (other != glance)
                    return $"Glance's {glance} differs from {label} {other}";
            }
        }
        return compared == 0 ? "Glance reported no checksum or os_hash_value to check the upload against" : null;
    }

    private async Task<UploadResult> FailAsync(GlanceSession session, CloudEndpoint cloud, string id, string error, int status)
    {
        await DeleteQuietlyAsync(session, id);
        Log.UploadFailed(_logger, id, cloud.Id, error);
        return new UploadResult(null, $"{error}; the image {id} was deleted", status);
    }

    private static async Task DeleteQuietlyAsync(GlanceSession session, string id)
    {
        try
        {
            // Not the caller's token: the upload may have been cancelled, the half-made image must still go.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            using var response = await session.SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, session.Url($"/v2/images/{id}")),
                transfer: false, HttpCompletionOption.ResponseContentRead, timeout.Token);
        }
        catch (Exception e) when (e is OpenStackFault or OperationCanceledException)
        {
            // Best effort: the error that made us delete is what the user needs to see.
        }
    }

    /// <summary>A read-only pass-through that hashes every byte read.</summary>
    private sealed class HashingReadStream(Stream inner, params IncrementalHash[] hashes) : ReadOnlyStream
    {
        public override int Read(Span<byte> buffer)
        {
            var read = inner.Read(buffer);
            foreach (var hash in hashes)
                hash.AppendData(buffer[..read]);
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            foreach (var hash in hashes)
                hash.AppendData(buffer.Span[..read]);
            return read;
        }
    }
}

using Microsoft.Extensions.Logging;

namespace Imprint.Clouds;

/// <summary>Source-generated log messages of the connectors with stable event ids: 4xxx OpenStack. Never log credentials or tokens.</summary>
internal static partial class Log
{
    [LoggerMessage(4001, LogLevel.Information, "Glance sync of cloud {CloudId}: {Mode} listing, {Listed} images listed in {Pages} requests, {Images} in the inventory, {Fingerprinted} fingerprinted ({Bytes} bytes), {Deferred} deferred, in {Elapsed} ms")]
    public static partial void GlanceSynced(ILogger logger, string cloudId, string mode, int listed, int pages, int images, int fingerprinted, long bytes, int deferred, long elapsed);

    [LoggerMessage(4002, LogLevel.Warning, "Glance sync of cloud {CloudId} failed: {Error}")]
    public static partial void GlanceSyncFailed(ILogger logger, string cloudId, string error);

    [LoggerMessage(4003, LogLevel.Information, "Keystone token for cloud {CloudId} issued, expires at {ExpiresAt}; image endpoint {ImageUrl}")]
    public static partial void TokenIssued(ILogger logger, string cloudId, DateTimeOffset expiresAt, string imageUrl);

    [LoggerMessage(4004, LogLevel.Information, "Glance refused the token of cloud {CloudId} (401): authenticating again once")]
    public static partial void TokenRejected(ILogger logger, string cloudId);

    [LoggerMessage(4005, LogLevel.Information, "Fingerprinting the content of image {ImageUid} of cloud {CloudId} ({Size} bytes)")]
    public static partial void Fingerprinting(ILogger logger, string imageUid, string cloudId, long? size);

    [LoggerMessage(4006, LogLevel.Warning, "Image {ImageUid} of cloud {CloudId} could not be fingerprinted: {Error}")]
    public static partial void FingerprintFailed(ILogger logger, string imageUid, string cloudId, string error);

    [LoggerMessage(4007, LogLevel.Information, "Uploaded image {ImageUid} ({Size} bytes) to cloud {CloudId}")]
    public static partial void Uploaded(ILogger logger, string imageUid, long size, string cloudId);

    [LoggerMessage(4008, LogLevel.Error, "Upload of image {ImageUid} to cloud {CloudId} failed and the image was deleted: {Error}")]
    public static partial void UploadFailed(ILogger logger, string imageUid, string cloudId, string error);
}

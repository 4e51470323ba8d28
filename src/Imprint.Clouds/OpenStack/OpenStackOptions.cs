namespace Imprint.Clouds.OpenStack;

/// <summary>How the <c>openstack</c> connector talks to Glance and Keystone. Bound from configuration section <c>OpenStack</c>.</summary>
public sealed class OpenStackOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "OpenStack";

    /// <summary>Images per listing request. Glance caps it at its <c>api_limit_max</c> (1000 by default). Default 1000.</summary>
    public int PageSize { get; set; } = 1000;

    /// <summary>A full listing (which finds deleted images) every this many syncs; the others ask only for what changed. Default 12.</summary>
    public int FullSyncEvery { get; set; } = 12;

    /// <summary>How far before the watermark an incremental listing starts, for clock skew and same-second updates. Default 5 minutes.</summary>
    public TimeSpan WatermarkOverlap { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>At most this many image bytes are downloaded per cloud and rematch to fingerprint content. Default 20 GiB.</summary>
    public long ContentByteCap { get; set; } = 20L << 30;

    /// <summary>Connecting to Glance or Keystone gives up after this. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>One request (one listing page, one token) gives up after this; retries get their own. Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries of a safe request (GET, or a token request) after a connection failure, timeout, 429 or 5xx. Default 2.</summary>
    public int Retries { get; set; } = 2;

    /// <summary>The first retry waits about this long; later ones back off exponentially with jitter. Default 500 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>A Keystone token is renewed when it has less than this left to live. Default 5 minutes.</summary>
    public TimeSpan TokenRenewBefore { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Why the options are invalid, or null.</summary>
    public static string? Check(OpenStackOptions o) =>
        o.PageSize is < 1 or > 1000 ? "PageSize must be 1..1000"
        : o.FullSyncEvery < 1 ? "FullSyncEvery must be at least 1"
        : o.Retries is < 0 or > 10 ? "Retries must be 0..10"
        : o.ContentByteCap < 0 ? "ContentByteCap must not be negative"
        : o.ConnectTimeout <= TimeSpan.Zero || o.RequestTimeout <= TimeSpan.Zero ? "timeouts must be positive"
        : o.WatermarkOverlap < TimeSpan.Zero ? "WatermarkOverlap must not be negative"
        : null;
}

using System.Globalization;
using System.Security.Claims;

namespace Imprint.Ui;

/// <summary>How the pages put states and times into words (status is never shown by colour alone).</summary>
internal static class UiText
{
    public static string Role(ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.Role) ?? "no role";

    /// <summary>The CSS class that colours a match status; the status word is always printed beside it.</summary>
    public static string StatusClass(string status) => status switch
    {
        "matched" => "status status-ok",
        "ambiguous" => "status status-warn",
        "stale" => "status status-warn",
        "suspect" => "status status-bad",
        "missing" => "status status-bad",
        "no-match" => "status status-bad",
        _ => "status",
    };

    public static string StatusIcon(string status) => status switch
    {
        "matched" => "✔",
        "ambiguous" => "◆",
        "stale" => "⏸",
        _ => "✖",
    };

    /// <summary>What the status means, in one line for people who do not know the glossary.</summary>
    public static string StatusMeaning(string status) => status switch
    {
        "matched" => "one image matches: it will boot",
        "ambiguous" => "several images match: one was chosen by the rule",
        "no-match" => "no image in this cloud matches the fingerprint",
        "missing" => "the image the setting names is no longer in the cloud",
        "suspect" => "an image carries the expected name but its digests do not match",
        "stale" => "the cloud could not be reached: this is the last known result",
        _ => status,
    };

    public static string Time(DateTimeOffset? at) =>
        at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) : "never";

    public static string Iso(DateTimeOffset? at) =>
        at is { } t ? t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) : "";

    public static string Revision(int revision) => revision == 0 ? "HEAD" : $"revision {revision.ToString(CultureInfo.InvariantCulture)}";

    public static string Bytes(long? size)
    {
        if (size is not { } n)
            return "—";
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = n;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{n.ToString(CultureInfo.InvariantCulture)} B" : $"{value.ToString("0.#", CultureInfo.InvariantCulture)} {units[unit]}";
    }

    /// <summary>A size for people and its exact byte count for comparing with a tool's output: "10 GiB (10737418240 bytes)".</summary>
    public static string BytesExact(long? size) => size switch
    {
        null => "unknown",
        < 1024 => $"{size.Value.ToString(CultureInfo.InvariantCulture)} bytes",
        _ => $"{Bytes(size)} ({size.Value.ToString(CultureInfo.InvariantCulture)} bytes)",
    };

    /// <summary>What a rematch downloaded to fingerprint image contents, in one sentence; null when it downloaded and deferred nothing.</summary>
    public static string? ContentWork(Imprint.Clouds.ContentFingerprinting? content)
    {
        if (content is null || content.Fingerprinted + content.Deferred.Count + content.Unreadable.Count == 0)
            return null;
        var text = $"Content: {Count(content.Fingerprinted, "image")} fingerprinted from {Bytes(content.Bytes)} downloaded";
        if (content.Deferred.Count > 0)
            text += $"; {Count(content.Deferred.Count, "image")} left for the next rematch (download cap reached or download failed)";
        if (content.Unreadable.Count > 0)
            text += $"; {Count(content.Unreadable.Count, "image")} not a disk image Imprint can read";
        return text + ".";
    }

    private static string Count(int n, string noun) => $"{n.ToString(CultureInfo.InvariantCulture)} {noun}{(n == 1 ? "" : "s")}";

    /// <summary>Splits <c>algorithm:hex</c> for display; a malformed digest shows whole as its value.</summary>
    public static (string Algorithm, string Hex) SplitDigest(string digest)
    {
        var colon = digest.LastIndexOf(':');
        return colon <= 0 ? ("", digest) : (digest[..colon], digest[(colon + 1)..]);
    }

    /// <summary>A mailto: link for an admin contact that looks like an e-mail address; null otherwise.</summary>
    public static string? MailTo(string? contact, string subject, string body)
    {
        if (string.IsNullOrWhiteSpace(contact) || !contact.Contains('@', StringComparison.Ordinal) || contact.Contains(' ', StringComparison.Ordinal))
            return null;
        return $"mailto:{Uri.EscapeDataString(contact.Trim()).Replace("%40", "@", StringComparison.Ordinal)}?subject={Uri.EscapeDataString(subject)}&body={Uri.EscapeDataString(body)}";
    }

    /// <summary>Links only to http(s) or site-relative addresses: a cloud reports these, and a javascript: URL must not become a link.</summary>
    public static string? SafeHref(string? url)
    {
        if (string.IsNullOrWhiteSpace(url))
            return null;
        if (url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal))
            return url;
        return Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? url : null;
    }
}

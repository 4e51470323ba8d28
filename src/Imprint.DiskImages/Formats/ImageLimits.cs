namespace Imprint.DiskImages.Formats;

/// <summary>Bounds that keep hostile images from costing unbounded time or memory.</summary>
internal static class ImageLimits
{
    /// <summary>Virtual sizes above 64 TiB are refused (the bound; no real image in a catalog is larger).</summary>
    public const long MaxVirtualSize = 64L << 40;

    public const string MaxVirtualSizeText = "64 TiB";

    /// <summary>
    /// Text taken from the image, fit to quote in a one-line message: hostile bytes must not reach a terminal as
    /// control characters, nor make the line long (found by the fuzzing harness).
    /// </summary>
    public static string Printable(string text)
    {
        var clean = string.Create(Math.Min(text.Length, 40), text, (span, source) =>
        {
            for (var i = 0; i < span.Length; i++)
                span[i] = source[i] is >= ' ' and <= '~' ? source[i] : '?';
        });
        return text.Length > 40 ? clean + "…" : clean;
    }
}

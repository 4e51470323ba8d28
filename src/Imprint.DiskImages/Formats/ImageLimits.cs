namespace Imprint.DiskImages.Formats;

/// <summary>Bounds that keep hostile images from costing unbounded time or memory.</summary>
internal static class ImageLimits
{
    /// <summary>Virtual sizes above 64 TiB are refused (the bound; no real image in a catalog is larger).</summary>
    public const long MaxVirtualSize = 64L << 40;

    public const string MaxVirtualSizeText = "64 TiB";
}

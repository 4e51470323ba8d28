namespace Imprint.DiskImages.Formats;

/// <summary>What a run of guest bytes is made of.</summary>
internal enum ExtentKind : byte
{
    /// <summary>Reads as zeros: unallocated, a zero cluster, a hole.</summary>
    Zero,
    /// <summary>Stored as is at <see cref="Extent.HostOffset"/> in the file.</summary>
    Data,
    /// <summary>A compressed cluster or grain; the extent always spans the whole cluster.</summary>
    Compressed,
}

/// <summary>
/// A run of guest-visible bytes [GuestOffset, GuestOffset + Length) and where it lives in the file.
/// For <see cref="ExtentKind.Compressed"/>, HostOffset and HostLength locate the compressed bytes.
/// </summary>
internal readonly record struct Extent(long GuestOffset, long Length, ExtentKind Kind, long HostOffset = 0, long HostLength = 0)
{
    public long End => GuestOffset + Length;

    public static Extent Zero(long guestOffset, long length) => new(guestOffset, length, ExtentKind.Zero);
}

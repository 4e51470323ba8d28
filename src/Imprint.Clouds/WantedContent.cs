using Imprint.Core.Digests;

namespace Imprint.Clouds;

/// <summary>
/// The <c>disk-sha256</c> digests that matchers of a cloud's kind look for, each with the virtual size of the image it
/// was made from. A connector that can only learn an image's content digest by downloading the image asks
/// <see cref="CouldMatch"/> first: the content digest covers the virtual size, so an image of another size cannot match.
/// </summary>
public sealed class WantedContent
{
    private readonly HashSet<long> _sizes = [];
    private readonly bool _anySizeUnknown;

    /// <summary>Nothing wanted: no image needs its content fingerprinted.</summary>
    public static WantedContent None { get; } = new([]);

    /// <summary>The wanted digests with their virtual sizes in bytes (null = unknown); digests of other algorithms are ignored.</summary>
    public WantedContent(IEnumerable<(Digest Digest, long? VirtualSize)> wanted)
    {
        ArgumentNullException.ThrowIfNull(wanted);
        var digests = new HashSet<Digest>();
        foreach (var (digest, virtualSize) in wanted)
        {
            if (digest.Algorithm != DigestAlgorithm.DiskSha256)
                continue;
            digests.Add(digest);
            if (virtualSize is { } size)
                _sizes.Add(size);
            else
                _anySizeUnknown = true;
        }
        Digests = digests;
    }

    /// <summary>The wanted <c>disk-sha256</c> digests.</summary>
    public IReadOnlySet<Digest> Digests { get; }

    /// <summary>True when no content digest is wanted.</summary>
    public bool IsEmpty => Digests.Count == 0;

    /// <summary>
    /// Could an image of this virtual size (null = unknown) match a wanted content digest? True when something is wanted
    /// and the image's size is unknown, or the size of a wanted digest is unknown, or the sizes are equal.
    /// </summary>
    public bool CouldMatch(long? virtualSize) =>
        !IsEmpty && (virtualSize is not { } size || _anySizeUnknown || _sizes.Contains(size));
}

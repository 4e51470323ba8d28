namespace Imprint.Core.Digests;

/// <summary>How an image's digests compare with a fingerprint.</summary>
public enum FingerprintComparison
{
    /// <summary>No digest in common, or the common ones all differ: another image.</summary>
    Different,
    /// <summary>The file digests agree on every algorithm both know (at least one): the same file.</summary>
    SameFile,
    /// <summary>The <c>disk-sha256</c> digests agree: the same content in another container or after a conversion.</summary>
    SameContent,
    /// <summary>Digests agree on one algorithm and disagree on another: never a match (an md5 collision is cheap).</summary>
    Contradiction,
}

/// <summary>The set of digests that identifies one image build: at most one digest per algorithm.</summary>
public sealed class Fingerprint
{
    private readonly Digest[] _digests;

    private Fingerprint(Digest[] digests) => _digests = digests;

    /// <summary>The digests, ordered by algorithm.</summary>
    public IReadOnlyList<Digest> Digests => _digests;

    /// <summary>The digests, ordered by algorithm, at most one each: the n-th is that of the n-th algorithm present.</summary>
    internal ReadOnlySpan<Digest> DigestSpan => _digests;

    /// <summary>Parses a list of <c>algorithm:hex</c> strings. Errors name the offending entry by index.</summary>
    public static ParseResult<Fingerprint> Parse(IEnumerable<string?>? digests)
    {
        if (digests is null)
            return ParseResult<Fingerprint>.Fail("a fingerprint needs at least one digest");
        var parsed = new List<Digest>();
        var index = 0;
        foreach (var text in digests)
        {
            var result = Digest.Parse(text);
            if (!result.Success)
                return ParseResult<Fingerprint>.Fail($"fingerprint[{index}]: {result.Error}");
            var same = parsed.FindIndex(d => d.Algorithm == result.Value.Algorithm);
            if (same >= 0 && parsed[same] != result.Value)
                return ParseResult<Fingerprint>.Fail($"fingerprint[{index}]: two different {result.Value.Algorithm.Name()} digests");
            if (same < 0)
                parsed.Add(result.Value);
            index++;
        }
        if (parsed.Count == 0)
            return ParseResult<Fingerprint>.Fail("a fingerprint needs at least one digest");
        return ParseResult<Fingerprint>.Ok(From(parsed));
    }

    /// <summary>A fingerprint from digests already parsed; duplicates of one algorithm keep the first.</summary>
    public static Fingerprint From(IEnumerable<Digest> digests) =>
        new(digests.DistinctBy(d => d.Algorithm).OrderBy(d => d.Algorithm).ToArray());

    /// <summary>The digest of one algorithm, if the fingerprint has one.</summary>
    public Digest? Get(DigestAlgorithm algorithm)
    {
        foreach (var digest in _digests)
        {
            if (digest.Algorithm == algorithm)
                return digest;
        }
        return null;
    }

    /// <summary>
    /// Compares an image's digests with this fingerprint by the rule of DESIGN.md: the same file when the file digests
    /// agree on every algorithm both know (at least one); else the same content when <c>disk-sha256</c> agrees. Any
    /// disagreement beside an agreement is a contradiction, whatever the algorithms.
    /// </summary>
    public FingerprintComparison CompareWith(ReadOnlySpan<Digest> imageDigests)
    {
        int fileAgree = 0, fileDisagree = 0;
        bool? contentAgrees = null;
        foreach (ref readonly var mine in _digests.AsSpan())
        {
            foreach (ref readonly var theirs in imageDigests)
            {
                if (theirs.Algorithm != mine.Algorithm)
                    continue;
                var equal = theirs.Equals(mine);
                if (mine.IsFileDigest)
                {
                    if (equal)
                        fileAgree++;
                    else
                        fileDisagree++;
                }
                else
                {
                    contentAgrees = equal;
                }
                break;
            }
        }
        // Same file bytes imply the same content, so a differing content digest beside agreeing file digests is a lie too.
        if (fileAgree > 0 && (fileDisagree > 0 || contentAgrees == false))
            return FingerprintComparison.Contradiction;
        if (fileAgree > 0)
            return FingerprintComparison.SameFile;
        if (contentAgrees == true)
            return FingerprintComparison.SameContent;
        return FingerprintComparison.Different;
    }

    /// <summary>The digests as <c>algorithm:hex</c> strings.</summary>
    public IReadOnlyList<string> ToStrings() => _digests.Select(d => d.ToString()).ToArray();

    /// <summary>The digests separated by spaces.</summary>
    public override string ToString() => string.Join(' ', _digests);
}

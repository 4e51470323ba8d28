using System.Runtime.InteropServices;
using Imprint.Core.Digests;

namespace Imprint.Core.Matching;

/// <summary>
/// The matcher: a pure function from (inventories, hand-written settings, matchers) to matches. It never calls a cloud.
/// <see cref="Compute"/> joins every image digest against an index of the fingerprints' digests (a hash join, one pass
/// over the images); <see cref="Resolve"/> then answers for any (MCI, cloud) from the join's hits. Pairs without hits
/// are no-match, so they cost nothing until asked for.
/// </summary>
public sealed class ImageMatcher
{
    /// <summary>The ambiguity rule, in the order it is applied.</summary>
    public const string AmbiguityRule =
        "same file before same content, then name equals the expected image name, then public before private, then newest, then lowest uid";

    private readonly MatchInventory[] _inventories;
    private readonly Dictionary<string, int> _cloudIndex;
    private readonly MatchMatcher[] _matchers;
    private readonly Dictionary<(string MciId, string Kind), int> _matcherByMciKind;
    private readonly Dictionary<(string MciId, string CloudId), MatchSetting> _settings;
    // Hits sorted by key = matcher * cloudCount + cloud: one flat array instead of a list per pair.
    private readonly long[] _hitKeys;
    private readonly Hit[] _hits;
    private readonly Dictionary<string, MatchImage>?[] _imagesByUid;

    private readonly record struct Hit(int Image, MatchEvidence Evidence);

    private ImageMatcher(
        MatchInventory[] inventories,
        MatchMatcher[] matchers,
        Dictionary<(string, string), MatchSetting> settings,
        long[] hitKeys,
        Hit[] hits)
    {
        _inventories = inventories;
        _matchers = matchers;
        _settings = settings;
        _hitKeys = hitKeys;
        _hits = hits;
        _cloudIndex = new Dictionary<string, int>(inventories.Length, StringComparer.Ordinal);
        for (var c = 0; c < inventories.Length; c++)
            _cloudIndex[inventories[c].Cloud.Id] = c;
        _matcherByMciKind = new Dictionary<(string, string), int>(matchers.Length);
        for (var m = 0; m < matchers.Length; m++)
            _matcherByMciKind.TryAdd((matchers[m].MciId, matchers[m].CloudKind), m);
        _imagesByUid = new Dictionary<string, MatchImage>?[inventories.Length];
    }

    /// <summary>Joins the inventories with the matchers. Runs in time linear in images + matchers + hits.</summary>
    public static ImageMatcher Compute(
        IReadOnlyList<MatchInventory> inventories,
        IReadOnlyList<MatchSetting> settings,
        IReadOnlyList<MatchMatcher> matchers)
    {
        var matcherArray = matchers.ToArray();
        var inventoryArray = inventories.ToArray();
        var settingMap = new Dictionary<(string, string), MatchSetting>(settings.Count);
        foreach (var setting in settings)
            settingMap[(setting.MciId, setting.CloudId)] = setting;

        // Index: digest prefix → chain of matchers whose fingerprint holds it; expected name → chain of matchers.
        // Keying on the 64-bit prefix keeps the probe to integer work; a prefix collision only costs a comparison
        // that CompareWith answers with Different.
        var byDigest = new PrefixTable(matcherArray.Sum(m => m.Fingerprint.Digests.Count));
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        var chainMatcher = new List<int>();
        var chainNext = new List<int>();
        for (var m = 0; m < matcherArray.Length; m++)
        {
            foreach (var digest in matcherArray[m].Fingerprint.Digests)
            {
                chainMatcher.Add(m);
                chainNext.Add(byDigest.Exchange(digest.Prefix, chainMatcher.Count - 1));
            }
            if (string.IsNullOrEmpty(matcherArray[m].ImageName))
                continue;
            ref var head = ref CollectionsMarshal.GetValueRefOrAddDefault(byName, matcherArray[m].ImageName!, out var exists);
            chainMatcher.Add(m);
            chainNext.Add(exists ? head : -1);
            head = chainMatcher.Count - 1;
        }
        var next = chainNext.ToArray();
        var owner = chainMatcher.ToArray();

        // Compact copies of what the scan compares, so that a hit reads a few bytes of one array instead of chasing
        // matcher → fingerprint → digests through memory: kind ids, the algorithms each fingerprint has, their prefixes.
        var kindIds = new Dictionary<string, int>(StringComparer.Ordinal);
        var matcherKind = new int[matcherArray.Length];
        var matcherAlgorithms = new byte[matcherArray.Length];
        var matcherPrefixes = new ulong[matcherArray.Length * AlgorithmSlots];
        for (var m = 0; m < matcherArray.Length; m++)
        {
            matcherKind[m] = KindId(kindIds, matcherArray[m].CloudKind);
            foreach (var digest in matcherArray[m].Fingerprint.Digests)
            {
                matcherAlgorithms[m] |= (byte)(1 << (int)digest.Algorithm);
                matcherPrefixes[m * AlgorithmSlots + (int)digest.Algorithm] = digest.Prefix;
            }
        }
        Span<ulong> imagePrefixes = stackalloc ulong[AlgorithmSlots];

        var hitKeys = new List<long>();
        var hits = new List<Hit>();
        var cloudCount = inventoryArray.Length;
        // Stamps avoid comparing one (image, matcher) pair twice when several digests lead to the same matcher.
        var comparedAt = new int[matcherArray.Length];
        var hitAt = new int[matcherArray.Length];
        var stamp = 0;
        for (var c = 0; c < inventoryArray.Length; c++)
        {
            var kind = KindId(kindIds, inventoryArray[c].Cloud.Kind);
            var images = inventoryArray[c].Images;
            for (var i = 0; i < images.Count; i++)
            {
                var image = images[i];
                if (!image.IsActive)
                    continue;
                stamp++;
                var imageDigests = image.Digests.AsSpan();
                var imageAlgorithms = 0;
                foreach (ref readonly var digest in imageDigests)
                {
                    imageAlgorithms |= 1 << (int)digest.Algorithm;
                    imagePrefixes[(int)digest.Algorithm] = digest.Prefix;
                }
                for (var d = 0; d < imageDigests.Length; d++)
                {
                    for (var link = byDigest.Find(imageDigests[d].Prefix); link >= 0; link = next[link])
                    {
                        var m = owner[link];
                        if (comparedAt[m] == stamp || matcherKind[m] != kind)
                            continue;
                        comparedAt[m] = stamp;
                        // Compared by prefix here; Resolve confirms every hit on the full digests.
                        var common = matcherAlgorithms[m] & imageAlgorithms;
                        var agree = 0;
                        for (var bits = common; bits != 0; bits &= bits - 1)
                        {
                            var algorithm = System.Numerics.BitOperations.TrailingZeroCount(bits);
                            if (matcherPrefixes[m * AlgorithmSlots + algorithm] == imagePrefixes[algorithm])
                                agree |= 1 << algorithm;
                        }
                        var evidence = Classify(common, agree);
                        if (evidence is null)
                            continue;
                        hitAt[m] = stamp;
                        hitKeys.Add((long)m * cloudCount + c);
                        hits.Add(new Hit(i, evidence.Value));
                    }
                }
                if (image.Name.Length == 0 || !byName.TryGetValue(image.Name, out var named))
                    continue;
                for (; named >= 0; named = next[named])
                {
                    var m = owner[named];
                    if (hitAt[m] != stamp && matcherKind[m] == kind)
                    {
                        hitKeys.Add((long)m * cloudCount + c);
                        hits.Add(new Hit(i, MatchEvidence.NameOnly));
                    }
                }
            }
        }
        var keyArray = hitKeys.ToArray();
        var hitArray = hits.ToArray();
        // Stable within a key: images keep their inventory order, which the ambiguity rule's last step relies on.
        var order = new int[keyArray.Length];
        for (var h = 0; h < order.Length; h++)
            order[h] = h;
        Array.Sort(order, (a, b) => keyArray[a] != keyArray[b] ? keyArray[a].CompareTo(keyArray[b]) : a.CompareTo(b));
        var sortedKeys = new long[order.Length];
        var sortedHits = new Hit[order.Length];
        for (var h = 0; h < order.Length; h++)
        {
            sortedKeys[h] = keyArray[order[h]];
            sortedHits[h] = hitArray[order[h]];
        }
        return new ImageMatcher(inventoryArray, matcherArray, settingMap, sortedKeys, sortedHits);
    }

    // Digest algorithms are small enum values (1..5): one slot per value, slot 0 unused.
    private const int AlgorithmSlots = 8;
    private const int ContentBit = 1 << (int)DigestAlgorithm.DiskSha256;

    private static int KindId(Dictionary<string, int> ids, string kind)
    {
        ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(ids, kind, out var exists);
        if (!exists)
            id = ids.Count;
        return id;
    }

    /// <summary>The rule of <see cref="Fingerprint.CompareWith"/>, on bit sets of the algorithms both know and those that agree.</summary>
    private static MatchEvidence? Classify(int common, int agree)
    {
        var fileAgree = agree & ~ContentBit;
        var fileDisagree = common & ~agree & ~ContentBit;
        var contentDisagrees = (common & ContentBit) != 0 && (agree & ContentBit) == 0;
        if (fileAgree != 0 && (fileDisagree != 0 || contentDisagrees))
            return MatchEvidence.Contradiction;
        if (fileAgree != 0)
            return MatchEvidence.SameFile;
        if ((agree & ContentBit) != 0)
            return MatchEvidence.SameContent;
        return null;
    }

    /// <summary>The number of (matcher, cloud) pairs where the join found an image (matching or suspect).</summary>
    public int HitCount
    {
        get
        {
            var pairs = 0;
            for (var h = 0; h < _hitKeys.Length; h++)
            {
                if (h == 0 || _hitKeys[h] != _hitKeys[h - 1])
                    pairs++;
            }
            return pairs;
        }
    }

    /// <summary>Where the hits of one (matcher, cloud) key are in the sorted arrays; an empty range when none.</summary>
    private (int First, int End) HitRange(long key)
    {
        var first = Array.BinarySearch(_hitKeys, key);
        if (first < 0)
            return (0, 0);
        while (first > 0 && _hitKeys[first - 1] == key)
            first--;
        var end = first;
        while (end < _hitKeys.Length && _hitKeys[end] == key)
            end++;
        return (first, end);
    }

    /// <summary>Every (MCI, cloud) pair where the join found an image, resolved: what a full recompute must look at.</summary>
    public IEnumerable<MatchResult> ResolveHits()
    {
        for (int h = 0, end; h < _hitKeys.Length; h = end)
        {
            // The hits of one (matcher, cloud) pair are adjacent: no search needed.
            for (end = h + 1; end < _hitKeys.Length && _hitKeys[end] == _hitKeys[h]; end++)
            {
            }
            var m = (int)(_hitKeys[h] / _inventories.Length);
            var c = (int)(_hitKeys[h] % _inventories.Length);
            var mciId = _matchers[m].MciId;
            if (_settings.Count > 0 && _settings.TryGetValue((mciId, _inventories[c].Cloud.Id), out var setting))
                yield return Overlay(ResolveSetting(mciId, c, setting));
            else
                yield return Overlay(ResolveMatcher(mciId, c, m, h, end));
        }
    }

    /// <summary>
    /// Every (MCI, cloud) pair that a hand-written setting or a matcher applies to in the given cloud, resolved.
    /// </summary>
    public IEnumerable<MatchResult> ResolveCloud(string cloudId)
    {
        if (!_cloudIndex.TryGetValue(cloudId, out var c))
            yield break;
        var cloud = _inventories[c].Cloud;
        var mcis = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var key in _settings.Keys)
        {
            if (key.CloudId == cloudId)
                mcis.Add(key.MciId);
        }
        foreach (var matcher in _matchers)
        {
            if (matcher.CloudKind == cloud.Kind)
                mcis.Add(matcher.MciId);
        }
        foreach (var mciId in mcis)
            yield return Resolve(mciId, cloudId)!;
    }

    /// <summary>
    /// The match of one MCI in one cloud, or null when neither a hand-written setting nor a matcher of the MCI applies
    /// there. A hand-written setting wins over a matcher: it pins the image.
    /// </summary>
    public MatchResult? Resolve(string mciId, string cloudId)
    {
        if (!_cloudIndex.TryGetValue(cloudId, out var c))
            return null;
        var cloud = _inventories[c].Cloud;
        if (_settings.TryGetValue((mciId, cloudId), out var setting))
            return Overlay(ResolveSetting(mciId, c, setting));
        if (_matcherByMciKind.TryGetValue((mciId, cloud.Kind), out var m))
        {
            var (first, end) = HitRange((long)m * _inventories.Length + c);
            return Overlay(ResolveMatcher(mciId, c, m, first, end));
        }
        return null;
    }

    /// <summary>An unreachable cloud keeps its last known result, marked stale.</summary>
    private static MatchResult Overlay(MatchResult result)
    {
        var cloud = result.Cloud;
        if (cloud.UnreachableError is null)
            return result;
        return result with
        {
            Status = MatchStatus.Stale,
            Reason = $"{cloud.Name} could not be reached: {cloud.UnreachableError}. Last known: {result.Status.ToApi()}. {result.Reason}",
        };
    }

    private MatchResult ResolveSetting(string mciId, int c, MatchSetting setting)
    {
        var cloud = _inventories[c].Cloud;
        if (!cloud.ListsImages)
        {
            var trusted = new MatchCandidate(setting.ImageUid, setting.ImageUid, MatchEvidence.Setting, Chosen: true);
            return new MatchResult(mciId, cloud, MatchStatus.Matched, trusted, [trusted], null,
                $"a hand-written setting pins image {setting.ImageUid} (not verified: Imprint cannot list {cloud.Kind} clouds yet)", null, null);
        }
        var images = _imagesByUid[c] ??= _inventories[c].Images
            .GroupBy(i => i.Uid, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        if (images.TryGetValue(setting.ImageUid, out var image))
        {
            var chosen = new MatchCandidate(image.Uid, image.Name, MatchEvidence.Setting, Chosen: true);
            return new MatchResult(mciId, cloud, MatchStatus.Matched, chosen, [chosen], null,
                $"a hand-written setting pins image {image.Uid}", null, null);
        }
        return new MatchResult(mciId, cloud, MatchStatus.Missing, null, [], null,
            $"the setting's image {setting.ImageUid} no longer exists in {cloud.Name}; ask {Contact(cloud)} or choose another image", null, null);
    }

    private MatchResult ResolveMatcher(string mciId, int c, int m, int firstHit, int endHit)
    {
        var cloud = _inventories[c].Cloud;
        var matcher = _matchers[m];
        var images = _inventories[c].Images;
        var matching = new List<(MatchImage Image, MatchEvidence Evidence)>(endHit - firstHit);
        List<MatchCandidate>? suspects = null;
        foreach (var hit in _hits.AsSpan(firstHit, endHit - firstHit))
        {
            var image = images[hit.Image];
            var evidence = Confirm(matcher, image, hit.Evidence);
            if (evidence is MatchEvidence.SameFile or MatchEvidence.SameContent)
                matching.Add((image, evidence.Value));
            else if (evidence is not null)
                (suspects ??= []).Add(new MatchCandidate(image.Uid, image.Name, evidence.Value, Chosen: false));
        }

        if (matching.Count == 0 && suspects is not null)
        {
            var first = suspects[0];
            var why = first.Evidence == MatchEvidence.NameOnly
                ? $"image {first.Uid} is named '{first.Name}' but none of its digests matches the fingerprint"
                : $"image {first.Uid}'s file digests agree with the fingerprint on one algorithm and contradict it on another";
            return new MatchResult(mciId, cloud, MatchStatus.Suspect, null, suspects, null,
                $"{why}; it is not used. Ask {Contact(cloud)} to check it, or upload the image with the fingerprint.", matcher.Id, matcher.Fingerprint);
        }
        if (matching.Count == 0)
        {
            var name = string.IsNullOrEmpty(matcher.ImageName) ? "the image" : $"'{matcher.ImageName}'";
            return new MatchResult(mciId, cloud, MatchStatus.NoMatch, null, [], null,
                $"no image in {cloud.Name} matches the fingerprint: ask {Contact(cloud)} to upload {name} with digests {matcher.Fingerprint}",
                matcher.Id, matcher.Fingerprint);
        }

        if (matching.Count > 1)
            matching.Sort((a, b) => CompareCandidates(a, b, matcher.ImageName));
        var winner = matching[0];
        var chosen = new MatchCandidate(winner.Image.Uid, winner.Image.Name, winner.Evidence, Chosen: true);
        var candidates = new MatchCandidate[matching.Count + (suspects?.Count ?? 0)];
        candidates[0] = chosen;
        for (var i = 1; i < matching.Count; i++)
            candidates[i] = new MatchCandidate(matching[i].Image.Uid, matching[i].Image.Name, matching[i].Evidence, Chosen: false);
        suspects?.CopyTo(candidates, matching.Count);
        var how = winner.Evidence == MatchEvidence.SameFile ? "the same file" : "the same content (converted)";
        if (matching.Count == 1)
        {
            return new MatchResult(mciId, cloud, MatchStatus.Matched, chosen, candidates, null,
                $"image {chosen.Uid} is {how} as the fingerprint", matcher.Id, matcher.Fingerprint);
        }
        var decisive = DecisiveCriterion(winner, matching[1], matcher.ImageName);
        return new MatchResult(mciId, cloud, MatchStatus.Ambiguous, chosen, candidates, AmbiguityRule,
            $"{matching.Count} images match the fingerprint; {chosen.Uid} was chosen: {decisive}", matcher.Id, matcher.Fingerprint);
    }

    /// <summary>The scan compared 64-bit prefixes; the full digests decide (a crafted prefix collision is no match).</summary>
    private static MatchEvidence? Confirm(MatchMatcher matcher, MatchImage image, MatchEvidence scanned)
    {
        var exact = matcher.Fingerprint.CompareWith(image.Digests.AsSpan()) switch
        {
            FingerprintComparison.SameFile => MatchEvidence.SameFile,
            FingerprintComparison.SameContent => MatchEvidence.SameContent,
            FingerprintComparison.Contradiction => MatchEvidence.Contradiction,
            _ => (MatchEvidence?)null,
        };
        if (exact is not null)
            return exact;
        var named = !string.IsNullOrEmpty(matcher.ImageName) && image.Name == matcher.ImageName;
        return scanned == MatchEvidence.NameOnly || named ? MatchEvidence.NameOnly : null;
    }

    private static int CompareCandidates((MatchImage Image, MatchEvidence Evidence) a, (MatchImage Image, MatchEvidence Evidence) b, string? expectedName)
    {
        foreach (var criterion in Criteria)
        {
            var order = criterion.Compare(a.Image, a.Evidence, b.Image, b.Evidence, expectedName);
            if (order != 0)
                return order;
        }
        return 0;
    }

    private static string DecisiveCriterion((MatchImage Image, MatchEvidence Evidence) winner, (MatchImage Image, MatchEvidence Evidence) runnerUp, string? expectedName)
    {
        foreach (var criterion in Criteria)
        {
            if (criterion.Compare(winner.Image, winner.Evidence, runnerUp.Image, runnerUp.Evidence, expectedName) != 0)
                return criterion.Description;
        }
        return "lowest uid";
    }

    private sealed record Criterion(string Description, Func<MatchImage, MatchEvidence, MatchImage, MatchEvidence, string?, int> Compare);

    // Each criterion orders the better candidate first (negative when a is better).
    private static readonly Criterion[] Criteria =
    [
        new("it is the same file, the others only the same content", (_, ea, _, eb, _) => ea.CompareTo(eb)),
        new("its name equals the expected image name", (a, _, b, _, name) =>
            name is null ? 0 : (b.Name == name).CompareTo(a.Name == name)),
        new("it is public, the others are not", (a, _, b, _, _) => b.IsPublic.CompareTo(a.IsPublic)),
        new("it is the newest", (a, _, b, _, _) => Nullable.Compare(b.CreatedAt, a.CreatedAt)),
        new("it has the lowest uid", (a, _, b, _, _) => string.CompareOrdinal(a.Uid, b.Uid)),
    ];

    private static string Contact(MatchCloud cloud) =>
        string.IsNullOrWhiteSpace(cloud.AdminContact) ? $"the administrator of {cloud.Name}" : $"{cloud.AdminContact} (administrator of {cloud.Name})";
}

using System.Numerics;
using System.Runtime.InteropServices;
using Imprint.Core.Digests;

namespace Imprint.Core.Matching;

/// <summary>
/// The matcher: a pure function from (inventories, hand-written settings, matchers) to matches. It never calls a cloud.
/// <see cref="Compute"/> joins every image digest against an index of the fingerprints' digests (a hash join, one pass
/// over the images, slices of it on every core); <see cref="Resolve"/> then answers for any (MCI, cloud) from the
/// join's hits. Pairs without hits are no-match, so they cost nothing until asked for. Results do not depend on how
/// the work was split: hits are merged in (matcher, cloud, inventory) order whatever thread found them.
/// </summary>
public sealed class ImageMatcher
{
    /// <summary>The ambiguity rule, in the order it is applied.</summary>
    public const string AmbiguityRule =
        "same file before same content, then name equals the expected image name, then public before private, then newest, then lowest uid";

    // Below this many images one thread joins and resolves: handing slices to the thread pool would cost more than it saves.
    private const int ParallelImages = 32_768;
    // A slice is what one worker scans at a time; small enough for both cores to finish together, large enough that
    // the per-slice cost (a list, a task switch) does not show.
    private const int SliceImages = 16_384;
    // Pairs resolved in parallel before they are handed out in order: the batch is all that lives at once.
    private const int ResolveBatch = 4_096;

    private readonly MatchInventory[] _inventories;
    private readonly Dictionary<string, int> _cloudIndex;
    private readonly MatchMatcher[] _matchers;
    private readonly Dictionary<(string MciId, string Kind), int> _matcherByMciKind;
    private readonly Dictionary<(string MciId, string CloudId), MatchSetting> _settings;
    // Hits sorted by key = matcher * cloudCount + cloud: one flat array instead of a list per pair.
    private readonly long[] _hitKeys;
    private readonly Hit[] _hits;
    private readonly Dictionary<string, MatchImage>?[] _imagesByUid;
    private readonly int _workers;
    private readonly int _resolveBatch;

    // The join already compared the full digests, so a hit carries its final evidence; the image is held by
    // reference (resolution reads it, and an index would cost one more cache miss) and by its inventory position,
    // the ambiguity rule's final tie-break.
    private readonly record struct Hit(MatchImage Image, int Index, MatchEvidence Evidence);

    private ImageMatcher(
        MatchInventory[] inventories,
        MatchMatcher[] matchers,
        Dictionary<(string, string), MatchSetting> settings,
        long[] hitKeys,
        Hit[] hits,
        int workers,
        int resolveBatch)
    {
        _inventories = inventories;
        _matchers = matchers;
        _settings = settings;
        _hitKeys = hitKeys;
        _hits = hits;
        _workers = workers;
        _resolveBatch = resolveBatch;
        _cloudIndex = new Dictionary<string, int>(inventories.Length, StringComparer.Ordinal);
        for (var c = 0; c < inventories.Length; c++)
            _cloudIndex[inventories[c].Cloud.Id] = c;
        _matcherByMciKind = new Dictionary<(string, string), int>(matchers.Length);
        for (var m = 0; m < matchers.Length; m++)
            _matcherByMciKind.TryAdd((matchers[m].MciId, matchers[m].CloudKind), m);
        _imagesByUid = new Dictionary<string, MatchImage>?[inventories.Length];
    }

    /// <summary>Joins the inventories with the matchers. Runs in time linear in images + matchers + hits, on every core.</summary>
    public static ImageMatcher Compute(
        IReadOnlyList<MatchInventory> inventories,
        IReadOnlyList<MatchSetting> settings,
        IReadOnlyList<MatchMatcher> matchers)
    {
        var images = 0L;
        foreach (var inventory in inventories)
            images += inventory.Images.Count;
        var workers = images >= ParallelImages ? Environment.ProcessorCount : 1;
        return Join(inventories, settings, matchers, SliceImages, ResolveBatch, workers);
    }

    /// <summary>The join with the work split as given: tests split tiny inputs to check that the split changes nothing.</summary>
    internal static ImageMatcher Join(
        IReadOnlyList<MatchInventory> inventories,
        IReadOnlyList<MatchSetting> settings,
        IReadOnlyList<MatchMatcher> matchers,
        int sliceImages,
        int resolveBatch,
        int workers)
    {
        var matcherArray = matchers.ToArray();
        var inventoryArray = inventories.ToArray();
        var settingMap = new Dictionary<(string, string), MatchSetting>(settings.Count);
        foreach (var setting in settings)
            settingMap[(setting.MciId, setting.CloudId)] = setting;

        var index = new JoinIndex(matcherArray, workers > 1);
        var cloudKinds = new int[inventoryArray.Length];
        var imageArrays = new MatchImage[inventoryArray.Length][];
        var slices = new List<Slice>();
        for (var c = 0; c < inventoryArray.Length; c++)
        {
            cloudKinds[c] = index.KindId(inventoryArray[c].Cloud.Kind);
            imageArrays[c] = inventoryArray[c].Images as MatchImage[] ?? [.. inventoryArray[c].Images];
            for (var first = 0; first < imageArrays[c].Length; first += sliceImages)
                slices.Add(new Slice(c, first, Math.Min(imageArrays[c].Length, first + sliceImages)));
        }

        // Each slice's hits come out in inventory order; slices are independent, so any thread may scan any of them.
        var found = new List<SliceHit>[slices.Count];
        if (workers > 1 && slices.Count > 1)
        {
            Parallel.For(0, slices.Count, new ParallelOptions { MaxDegreeOfParallelism = workers },
                () => new Scanner(index),
                (s, _, scanner) =>
                {
                    var slice = slices[s];
                    found[s] = scanner.Scan(imageArrays[slice.Cloud], slice.First, slice.End, cloudKinds[slice.Cloud]);
                    return scanner;
                },
                _ => { });
        }
        else
        {
            var scanner = new Scanner(index);
            for (var s = 0; s < slices.Count; s++)
                found[s] = scanner.Scan(imageArrays[slices[s].Cloud], slices[s].First, slices[s].End, cloudKinds[slices[s].Cloud]);
        }

        // A counting sort by matcher, reading the slices in (cloud, inventory) order, is stable: it gives the
        // (matcher, cloud, inventory) order without a comparison sort, whichever thread found what.
        var starts = new int[matcherArray.Length + 1];
        foreach (var hits in found)
        {
            foreach (var hit in CollectionsMarshal.AsSpan(hits))
                starts[hit.Matcher + 1]++;
        }
        for (var m = 0; m < matcherArray.Length; m++)
            starts[m + 1] += starts[m];
        var total = starts[matcherArray.Length];
        var sortedKeys = new long[total];
        var sortedHits = new Hit[total];
        var cloudCount = inventoryArray.Length;
        for (var s = 0; s < slices.Count; s++)
        {
            var c = slices[s].Cloud;
            var images = imageArrays[c];
            foreach (var hit in CollectionsMarshal.AsSpan(found[s]))
            {
                var at = starts[hit.Matcher]++;
                sortedKeys[at] = (long)hit.Matcher * cloudCount + c;
                sortedHits[at] = new Hit(images[hit.Image], hit.Image, hit.Evidence);
            }
        }
        return new ImageMatcher(inventoryArray, matcherArray, settingMap, sortedKeys, sortedHits, workers, resolveBatch);
    }

    private readonly record struct Slice(int Cloud, int First, int End);

    private readonly record struct SliceHit(int Matcher, int Image, MatchEvidence Evidence);

    // How many images' probes are read ahead of their use; a power of two.
    private const int TouchAhead = 16;

    // Digest algorithms are small enum values (1..5): a matcher's words are its kind and algorithms (word 0), the
    // prefix of each algorithm's digest (words 1..5), and where its digests start in the flat array (word 7).
    private const int AlgorithmSlots = 8;
    private const int StartWord = 7;

    /// <summary>What the scan looks up, built once and then only read, by every worker at once.</summary>
    private sealed class JoinIndex
    {
        private readonly Dictionary<string, int> _kindIds = new(StringComparer.Ordinal);

        public JoinIndex(MatchMatcher[] matchers, bool parallel)
        {
            Matchers = matchers;
            var digests = 0;
            var names = 0;
            foreach (var matcher in matchers)
            {
                digests += matcher.Fingerprint.DigestSpan.Length;
                names += string.IsNullOrEmpty(matcher.ImageName) ? 0 : 1;
            }
            // Digest prefix → matchers whose fingerprint holds it; expected name's hash → matchers. Keying on 64-bit
            // integers keeps a probe to one slot; a collision only costs a comparison that finds the digests or the
            // names different.
            ByDigest = new PrefixTable(digests);
            ByName = new PrefixTable(names);
            // What the scan compares, one line of memory per matcher instead of matcher → fingerprint → digests,
            // and the digests themselves side by side.
            Words = new ulong[matchers.Length * AlgorithmSlots];
            FlatDigests = new Digest[digests];
            foreach (var matcher in matchers)
                KindId(matcher.CloudKind);
            // The digest table is most of the work and shares nothing with the rest: one core each.
            if (parallel)
                Parallel.Invoke(() => AddDigests(matchers), () => AddNamesAndWords(matchers));
            else
            {
                AddDigests(matchers);
                AddNamesAndWords(matchers);
            }
        }

        private void AddDigests(MatchMatcher[] matchers)
        {
            for (var m = 0; m < matchers.Length; m++)
            {
                foreach (ref readonly var digest in matchers[m].Fingerprint.DigestSpan)
                    ByDigest.Add(digest.Prefix, m);
            }
        }

        private void AddNamesAndWords(MatchMatcher[] matchers)
        {
            var flat = 0;
            for (var m = 0; m < matchers.Length; m++)
            {
                var fingerprint = matchers[m].Fingerprint.DigestSpan;
                var algorithms = 0;
                foreach (ref readonly var digest in fingerprint)
                {
                    algorithms |= 1 << (int)digest.Algorithm;
                    Words[m * AlgorithmSlots + (int)digest.Algorithm] = digest.Prefix;
                }
                Words[m * AlgorithmSlots] = (uint)_kindIds[matchers[m].CloudKind] | ((ulong)algorithms << 32);
                Words[m * AlgorithmSlots + StartWord] = (ulong)flat;
                fingerprint.CopyTo(FlatDigests.AsSpan(flat));
                flat += fingerprint.Length;
                if (!string.IsNullOrEmpty(matchers[m].ImageName))
                    ByName.Add(NameKey(matchers[m].ImageName!), m);
            }
        }

        public MatchMatcher[] Matchers { get; }
        public PrefixTable ByDigest { get; }
        public PrefixTable ByName { get; }
        public ulong[] Words { get; }
        public Digest[] FlatDigests { get; }

        // The process's randomised string hash: image names are chosen by whoever uploads, so keys must not be predictable.
        public static ulong NameKey(string name) => (uint)name.GetHashCode(StringComparison.Ordinal);

        /// <summary>A small id per kind; not thread-safe, so every kind is named before the scan starts.</summary>
        public int KindId(string kind)
        {
            ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(_kindIds, kind, out var exists);
            if (!exists)
                id = _kindIds.Count;
            return id;
        }
    }

    /// <summary>One worker's scan state: its own stamps, so workers share nothing they write.</summary>
    private sealed class Scanner(JoinIndex index)
    {
        // Stamps avoid comparing one (image, matcher) pair twice when several digests lead to the same matcher.
        private readonly int[] _comparedAt = new int[index.Matchers.Length];
        private readonly int[] _hitAt = new int[index.Matchers.Length];
        private int _stamp;
        private ulong _touched;

        public List<SliceHit> Scan(MatchImage[] images, int first, int end, int kind)
        {
            var hits = new List<SliceHit>();
            var byDigest = index.ByDigest;
            var byName = index.ByName;
            var words = index.Words;
            var flat = index.FlatDigests;
            var matchers = index.Matchers;
            var comparedAt = _comparedAt;
            var hitAt = _hitAt;
            Span<ulong> imagePrefixes = stackalloc ulong[AlgorithmSlots];
            Span<int> imageDigestAt = stackalloc int[AlgorithmSlots];
            // The name keys of the images read ahead, by image number modulo TouchAhead: a name is hashed once.
            Span<ulong> nameKeys = stackalloc ulong[TouchAhead];
            var touched = 0UL;
            var touchedTo = first;
            for (var i = first; i < end; i++)
            {
                // Probes of the next images' digests and names, read ahead: they are cache misses, and a miss whose
                // value nothing waits for runs alongside the others.
                if (i == touchedTo)
                {
                    touchedTo = Math.Min(end, i + TouchAhead);
                    for (var t = i; t < touchedTo; t++)
                    {
                        foreach (ref readonly var digest in images[t].Digests.AsSpan())
                            touched ^= byDigest.Touch(digest.Prefix);
                        nameKeys[t & (TouchAhead - 1)] = JoinIndex.NameKey(images[t].Name);
                        touched ^= byName.Touch(nameKeys[t & (TouchAhead - 1)]);
                    }
                }
                var image = images[i];
                if (!image.IsActive)
                    continue;
                var stamp = ++_stamp;
                var imageDigests = image.Digests.AsSpan();
                var imageAlgorithms = 0;
                for (var d = 0; d < imageDigests.Length; d++)
                {
                    // The first digest of an algorithm is the one Fingerprint.CompareWith compares: the prefix filter
                    // must see the same one, or an image that reports two md5s could be missed.
                    var algorithm = (int)imageDigests[d].Algorithm;
                    if ((imageAlgorithms & (1 << algorithm)) != 0)
                        continue;
                    imageAlgorithms |= 1 << algorithm;
                    imagePrefixes[algorithm] = imageDigests[d].Prefix;
                    imageDigestAt[algorithm] = d;
                }
                for (var d = 0; d < imageDigests.Length; d++)
                {
                    for (var m = byDigest.Find(imageDigests[d].Prefix, out var more); m >= 0; m = byDigest.Next(ref more))
                    {
                        if (comparedAt[m] == stamp)
                            continue;
                        comparedAt[m] = stamp;
                        var at = m * AlgorithmSlots;
                        if ((int)(uint)words[at] != kind)
                            continue;
                        var common = (int)(words[at] >> 32) & imageAlgorithms;
                        var agree = 0;
                        for (var bits = common; bits != 0; bits &= bits - 1)
                        {
                            var algorithm = BitOperations.TrailingZeroCount(bits);
                            if (words[at + algorithm] == imagePrefixes[algorithm])
                                agree |= 1 << algorithm;
                        }
                        // Equal digests have equal prefixes: when none agrees, CompareWith would answer Different.
                        if (agree == 0)
                            continue;
                        // The prefixes say the same file or content (or a contradiction); the full digests of the
                        // algorithms whose prefixes agree decide, here where the image's digests are in cache. A
                        // crafted prefix collision is no hit.
                        var fingerprint = flat.AsSpan((int)words[at + StartWord]);
                        var matcherAlgorithms = (int)(words[at] >> 32);
                        var equal = 0;
                        for (var bits = agree; bits != 0; bits &= bits - 1)
                        {
                            var algorithm = BitOperations.TrailingZeroCount(bits);
                            var mine = BitOperations.PopCount((uint)(matcherAlgorithms & ((1 << algorithm) - 1)));
                            if (fingerprint[mine].Equals(imageDigests[imageDigestAt[algorithm]]))
                                equal |= 1 << algorithm;
                        }
                        var evidence = Classify(common, equal);
                        if (evidence is null)
                            continue;
                        hitAt[m] = stamp;
                        hits.Add(new SliceHit(m, i, evidence.Value));
                    }
                }
                if (image.Name.Length == 0)
                    continue;
                for (var m = byName.Find(nameKeys[i & (TouchAhead - 1)], out var more); m >= 0; m = byName.Next(ref more))
                {
                    // Only a matcher that the digests did not find needs its name compared (the hash may collide).
                    if (hitAt[m] != stamp && (int)(uint)words[m * AlgorithmSlots] == kind
                        && string.Equals(matchers[m].ImageName, image.Name, StringComparison.Ordinal))
                        hits.Add(new SliceHit(m, i, MatchEvidence.NameOnly));
                }
            }
            // Read, so that the reads ahead are not optimised away.
            _touched ^= touched;
            return hits;
        }
    }

    /// <summary>
    /// The rule of <see cref="Fingerprint.CompareWith"/> on bit sets of algorithms: those both sides know, and those
    /// whose digests are equal. Any disagreement beside an agreement is a contradiction.
    /// </summary>
    private static MatchEvidence? Classify(int common, int equal)
    {
        const int content = 1 << (int)DigestAlgorithm.DiskSha256;
        var fileAgree = equal & ~content;
        var fileDisagree = common & ~equal & ~content;
        var contentDisagrees = (common & content) != 0 && (equal & content) == 0;
        if (fileAgree != 0 && (fileDisagree != 0 || contentDisagrees))
            return MatchEvidence.Contradiction;
        if (fileAgree != 0)
            return MatchEvidence.SameFile;
        if ((equal & content) != 0)
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

    /// <summary>
    /// Every (MCI, cloud) pair where the join found an image, resolved: what a full recompute must look at. Ordered
    /// by matcher, then cloud. Large recomputes resolve a batch of pairs on every core before handing it out.
    /// </summary>
    public IEnumerable<MatchResult> ResolveHits()
    {
        // Where each pair's hits start (those of one pair are adjacent), and one past the last.
        var starts = new List<int>();
        for (var h = 0; h < _hitKeys.Length; h++)
        {
            if (h == 0 || _hitKeys[h] != _hitKeys[h - 1])
                starts.Add(h);
        }
        starts.Add(_hitKeys.Length);
        var pairs = starts.Count - 1;
        var batch = new MatchResult[Math.Min(_resolveBatch, pairs)];
        var parallel = _workers > 1 && pairs > _resolveBatch;
        // More parts than workers, so that a worker that drew cheap pairs takes another part.
        var parts = _workers * 4;
        var options = new ParallelOptions { MaxDegreeOfParallelism = _workers };
        for (var first = 0; first < pairs; first += batch.Length)
        {
            var count = Math.Min(batch.Length, pairs - first);
            if (parallel)
            {
                var offset = first;
                Parallel.For(0, parts, options, part =>
                    ResolveRange(starts, offset + (int)((long)count * part / parts), offset + (int)((long)count * (part + 1) / parts), batch, offset));
            }
            else
            {
                ResolveRange(starts, first, first + count, batch, first);
            }
            for (var p = 0; p < count; p++)
                yield return batch[p];
        }
    }

    /// <summary>Resolves pairs [<paramref name="from"/>, <paramref name="to"/>) into <paramref name="into"/>, from <paramref name="offset"/> on.</summary>
    private void ResolveRange(List<int> starts, int from, int to, MatchResult[] into, int offset)
    {
        for (var p = from; p < to; p++)
            into[p - offset] = ResolvePair(starts[p], starts[p + 1]);
    }

    private MatchResult ResolvePair(int firstHit, int endHit)
    {
        var m = (int)(_hitKeys[firstHit] / _inventories.Length);
        var c = (int)(_hitKeys[firstHit] % _inventories.Length);
        var mciId = _matchers[m].MciId;
        if (_settings.Count > 0 && _settings.TryGetValue((mciId, _inventories[c].Cloud.Id), out var setting))
            return Overlay(ResolveSetting(mciId, c, setting));
        return Overlay(ResolveMatcher(mciId, c, m, firstHit, endHit));
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
        // Built on first use, possibly by two resolving threads at once: both build the same map, one is kept.
        var images = Volatile.Read(ref _imagesByUid[c]);
        if (images is null)
        {
            images = _inventories[c].Images
                .GroupBy(i => i.Uid, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
            images = Interlocked.CompareExchange(ref _imagesByUid[c], images, null) ?? images;
        }
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
        var hits = _hits.AsSpan(firstHit, endHit - firstHit);
        // The common case of a full recompute, one image and a match, without the lists the general case needs.
        if (hits.Length == 1 && hits[0].Evidence is MatchEvidence.SameFile or MatchEvidence.SameContent)
        {
            var only = new MatchCandidate(hits[0].Image.Uid, hits[0].Image.Name, hits[0].Evidence, Chosen: true);
            return Matched(mciId, cloud, matcher, only, new[] { only });
        }

        var matching = new List<Hit>(hits.Length);
        List<MatchCandidate>? suspects = null;
        foreach (var hit in hits)
        {
            if (hit.Evidence is MatchEvidence.SameFile or MatchEvidence.SameContent)
                matching.Add(hit);
            else
                (suspects ??= []).Add(new MatchCandidate(hit.Image.Uid, hit.Image.Name, hit.Evidence, Chosen: false));
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
        if (matching.Count == 1)
            return Matched(mciId, cloud, matcher, chosen, candidates);
        var decisive = DecisiveCriterion(winner, matching[1], matcher.ImageName);
        return new MatchResult(mciId, cloud, MatchStatus.Ambiguous, chosen, candidates, AmbiguityRule,
            $"{matching.Count} images match the fingerprint; {chosen.Uid} was chosen: {decisive}", matcher.Id, matcher.Fingerprint);
    }

    private static MatchResult Matched(string mciId, MatchCloud cloud, MatchMatcher matcher, MatchCandidate chosen, IReadOnlyList<MatchCandidate> candidates)
    {
        var how = chosen.Evidence == MatchEvidence.SameFile ? "the same file" : "the same content (converted)";
        return new MatchResult(mciId, cloud, MatchStatus.Matched, chosen, candidates, null,
            $"image {chosen.Uid} is {how} as the fingerprint", matcher.Id, matcher.Fingerprint);
    }
    // Candidates equal by every criterion (a uid reported twice) keep their inventory order, so the choice never
    // depends on the sort algorithm.
    private static int CompareCandidates(Hit a, Hit b, string? expectedName)
    {
        foreach (var criterion in Criteria)
        {
            var order = criterion.Compare(a.Image, a.Evidence, b.Image, b.Evidence, expectedName);
            if (order != 0)
                return order;
        }
        return a.Index.CompareTo(b.Index);
    }

    private static string DecisiveCriterion(Hit winner, Hit runnerUp, string? expectedName)
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

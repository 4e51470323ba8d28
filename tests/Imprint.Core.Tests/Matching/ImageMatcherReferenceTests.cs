using System.Collections.Immutable;
using Imprint.Core.Digests;
using Imprint.Core.Matching;

namespace Imprint.Core.Tests.Matching;

/// <summary>
/// The hash join, sliced over threads or not, against the rule of DESIGN.md written as the nested loop a reader can
/// check line by line: every matcher against every image. Random small worlds built to hit the corners: digests forged
/// to share a 64-bit prefix, images that report one algorithm twice, converted and lying images, ambiguous matches and
/// ties, hand-written settings (pinned, missing, in clouds Imprint cannot list) and unreachable clouds.
/// </summary>
public sealed class ImageMatcherReferenceTests
{
    private const int Worlds = 400;

    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DigestAlgorithm[] Algorithms =
        [DigestAlgorithm.Md5, DigestAlgorithm.Sha1, DigestAlgorithm.Sha256, DigestAlgorithm.Sha512, DigestAlgorithm.DiskSha256];
    private static readonly string[] Kinds = ["folder", "openstack"];
    private static readonly string[] Names = ["", "ubuntu", "debian", "build"];

    [Fact]
    public void Compute_RandomWorlds_SameResultsAsNestedLoop()
    {
        var statuses = new HashSet<MatchStatus>();
        var evidence = new HashSet<MatchEvidence>();
        for (var seed = 0; seed < Worlds; seed++)
        {
            var world = World.Random(seed);
            var expected = new Reference(world);
            var computed = ImageMatcher.Compute(world.Inventories, world.Settings, world.Matchers);

            ShouldAgree(expected, computed, world, $"seed {seed}, one thread");
            foreach (var result in world.Inventories.SelectMany(i => expected.ResolveCloud(i.Cloud.Id)))
            {
                statuses.Add(result.Status);
                evidence.UnionWith(result.Candidates.Select(c => c.Evidence));
            }
        }
        // The worlds reach every outcome, or agreeing would prove little.
        statuses.ShouldBe(Enum.GetValues<MatchStatus>(), ignoreOrder: true);
        evidence.ShouldBe(Enum.GetValues<MatchEvidence>(), ignoreOrder: true);
    }

    [Fact]
    public void Join_SlicedOverTwoWorkers_SameResultsAsNestedLoop()
    {
        for (var seed = 0; seed < Worlds; seed++)
        {
            var world = World.Random(seed);
            var expected = new Reference(world);
            // Slices of one to three images and batches of two pairs: every boundary the split can have.
            var computed = ImageMatcher.Join(world.Inventories, world.Settings, world.Matchers,
                sliceImages: 1 + seed % 3, resolveBatch: 2, workers: 2);

            ShouldAgree(expected, computed, world, $"seed {seed}, sliced");
        }
    }

    [Fact]
    public void Join_LargeWorld_SplitChangesNothing()
    {
        // Big enough that both workers really run at once, many times, and that resolution runs in many batches.
        var world = World.Random(seed: 12345, clouds: 8, imagesPerCloud: 3000, mcis: 400);
        var single = ImageMatcher.Join(world.Inventories, world.Settings, world.Matchers, sliceImages: int.MaxValue, resolveBatch: int.MaxValue, workers: 1);
        var split = ImageMatcher.Join(world.Inventories, world.Settings, world.Matchers, sliceImages: 97, resolveBatch: 31, workers: 2);

        var expected = single.ResolveHits().Select(Render).ToList();
        expected.Count.ShouldBeGreaterThan(500);
        SameLines(split.ResolveHits().Select(Render).ToList(), expected, "large world, split against one thread");
        ShouldAgree(new Reference(world), split, world, "large world");
    }

    private static void ShouldAgree(Reference expected, ImageMatcher computed, World world, string what)
    {
        var hits = expected.ResolveHits().Select(Render).ToList();
        SameLines(computed.ResolveHits().Select(Render).ToList(), hits, $"{what}: ResolveHits");
        computed.HitCount.ShouldBe(hits.Count, $"{what}: HitCount");
        foreach (var inventory in world.Inventories)
        {
            var cloudId = inventory.Cloud.Id;
            SameLines(computed.ResolveCloud(cloudId).Select(Render).ToList(), expected.ResolveCloud(cloudId).Select(Render).ToList(), $"{what}: ResolveCloud {cloudId}");
            foreach (var mciId in world.MciIds.Append("mci-unknown"))
                Render(computed.Resolve(mciId, cloudId)).ShouldBe(Render(expected.Resolve(mciId, cloudId)), $"{what}: Resolve {mciId} {cloudId}");
        }
        computed.Resolve(world.MciIds[0], "cloud-unknown").ShouldBeNull();
    }

    /// <summary>Equal lists, or a message that names the first line that differs rather than printing both lists.</summary>
    private static void SameLines(List<string> actual, List<string> expected, string what)
    {
        for (var i = 0; i < Math.Min(actual.Count, expected.Count); i++)
            actual[i].ShouldBe(expected[i], $"{what}, result {i}");
        actual.Count.ShouldBe(expected.Count, $"{what}: number of results");
    }

    private static string Render(MatchResult? r) => r is null
        ? "null"
        : $"{r.MciId} @ {r.Cloud.Id}: {r.Status} {r.Image} [{string.Join(", ", r.Candidates)}] rule={r.Rule} matcher={r.MatcherId} fingerprint={r.Fingerprint} | {r.Reason}";

    private sealed record World(MatchInventory[] Inventories, MatchSetting[] Settings, MatchMatcher[] Matchers, string[] MciIds)
    {
        public static World Random(int seed, int clouds = 0, int imagesPerCloud = 0, int mcis = 0)
        {
            var random = new Random(seed);
            clouds = clouds > 0 ? clouds : random.Next(1, 5);
            mcis = mcis > 0 ? mcis : random.Next(1, 7);
            var builds = Enumerable.Range(0, Math.Max(3, mcis / 2)).Select(_ => Algorithms.Select(a => NewDigest(random, a)).ToArray()).ToArray();

            var inventories = new MatchInventory[clouds];
            for (var c = 0; c < clouds; c++)
            {
                var cloud = new MatchCloud($"cloud-{c}", $"Cloud {c}", Pick(random, Kinds), random.Next(4) == 0, random.Next(3) == 0 ? null : "ops@example.com",
                    UnreachableError: random.Next(5) == 0 ? "connection refused" : null, ListsImages: random.Next(6) != 0);
                var count = imagesPerCloud > 0 ? imagesPerCloud : random.Next(0, 13);
                var images = new MatchImage[count];
                for (var i = 0; i < count; i++)
                {
                    images[i] = new MatchImage(
                        $"u{random.Next(imagesPerCloud > 0 ? imagesPerCloud : 10)}",
                        Pick(random, Names) + (random.Next(3) == 0 ? "" : random.Next(2).ToString(System.Globalization.CultureInfo.InvariantCulture)),
                        random.Next(6) switch { 0 => "queued", 1 => "ACTIVE", _ => "active" },
                        random.Next(4) switch { 0 => "public", 1 => "Public", 2 => "shared", _ => "private" },
                        random.Next(5) == 0 ? null : T0.AddHours(random.Next(3)),
                        ImageDigests(random, Pick(random, builds), builds));
                }
                inventories[c] = new MatchInventory(cloud, images);
            }

            var mciIds = Enumerable.Range(0, mcis).Select(m => $"mci-{m}").ToArray();
            var matchers = new List<MatchMatcher>();
            foreach (var mciId in mciIds)
            {
                // At most one matcher per (MCI, kind), as the store's unique index guarantees.
                foreach (var kind in Kinds)
                {
                    if (random.Next(5) < 2)
                        continue;
                    var build = Pick(random, builds);
                    var fingerprint = build.Where(_ => random.Next(2) == 0).ToList();
                    if (fingerprint.Count == 0)
                        fingerprint.Add(Pick(random, build));
                    if (random.Next(6) == 0)
                        fingerprint[0] = Forge(random, fingerprint[0]);
                    var name = random.Next(4) switch { 0 => null, 1 => "", _ => Pick(random, Names) + random.Next(2).ToString(System.Globalization.CultureInfo.InvariantCulture) };
                    matchers.Add(new MatchMatcher($"m-{mciId}-{kind}", mciId, kind, Fingerprint.From(fingerprint), name));
                }
            }
            var shuffled = matchers.OrderBy(_ => random.Next()).ToArray();

            var settings = Enumerable.Range(0, random.Next(0, 4))
                .Select(_ => new MatchSetting(Pick(random, mciIds), $"cloud-{random.Next(clouds)}", $"u{random.Next(12)}"))
                .ToArray();
            return new World(inventories, settings, shuffled, mciIds);
        }

        private static ImmutableArray<Digest> ImageDigests(Random random, Digest[] build, Digest[][] builds)
        {
            List<Digest> digests = random.Next(8) switch
            {
                // Converted: the same content, other file bytes.
                0 => [build[4], .. Pick(random, builds).Take(4)],
                // Lying: one file digest of the build beside another build's.
                1 => [build[0], .. Pick(random, builds).Skip(1).Take(3)],
                // Nothing reported.
                2 => [],
                _ => [.. build.Where(_ => random.Next(3) != 0)],
            };
            for (var d = 0; d < digests.Count; d++)
            {
                if (random.Next(8) == 0)
                    digests[d] = Forge(random, digests[d]);
            }
            // The same algorithm twice: the first one counts.
            if (digests.Count > 0 && random.Next(6) == 0)
            {
                var twice = Pick(random, digests);
                digests.Insert(random.Next(digests.Count + 1), random.Next(2) == 0 ? Forge(random, twice) : Pick(random, builds)[Array.IndexOf(Algorithms, twice.Algorithm)]);
            }
            return [.. digests.OrderBy(_ => random.Next())];
        }

        private static Digest NewDigest(Random random, DigestAlgorithm algorithm)
        {
            var bytes = new byte[algorithm.ByteLength()];
            random.NextBytes(bytes);
            return Digest.FromBytes(algorithm, bytes);
        }

        /// <summary>Another digest with the same 64-bit prefix: what an attacker can make for md5.</summary>
        private static Digest Forge(Random random, Digest genuine)
        {
            var bytes = Convert.FromHexString(genuine.Hex);
            bytes[8 + random.Next(bytes.Length - 8)] ^= (byte)(1 + random.Next(255));
            return Digest.FromBytes(genuine.Algorithm, bytes);
        }

        private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];
    }

    /// <summary>DESIGN.md's rule, literally: for every (matcher, cloud), every image of the cloud compared with the fingerprint.</summary>
    private sealed class Reference(World world)
    {
        public IEnumerable<MatchResult> ResolveHits()
        {
            foreach (var matcher in world.Matchers)
            {
                foreach (var inventory in world.Inventories)
                {
                    if (inventory.Cloud.Kind != matcher.CloudKind || Candidates(matcher, inventory).Count == 0)
                        continue;
                    var setting = SettingOf(matcher.MciId, inventory.Cloud.Id);
                    yield return Stale(setting is not null ? PerSetting(matcher.MciId, inventory, setting) : PerMatcher(matcher, inventory));
                }
            }
        }

        public IEnumerable<MatchResult> ResolveCloud(string cloudId)
        {
            var cloud = world.Inventories.Single(i => i.Cloud.Id == cloudId).Cloud;
            return world.Settings.Where(s => s.CloudId == cloudId).Select(s => s.MciId)
                .Concat(world.Matchers.Where(m => m.CloudKind == cloud.Kind).Select(m => m.MciId))
                .Distinct()
                .Order(StringComparer.Ordinal)
                .Select(mciId => Resolve(mciId, cloudId)!);
        }

        public MatchResult? Resolve(string mciId, string cloudId)
        {
            var inventory = world.Inventories.Single(i => i.Cloud.Id == cloudId);
            var setting = SettingOf(mciId, cloudId);
            if (setting is not null)
                return Stale(PerSetting(mciId, inventory, setting));
            var matcher = world.Matchers.FirstOrDefault(m => m.MciId == mciId && m.CloudKind == inventory.Cloud.Kind);
            return matcher is null ? null : Stale(PerMatcher(matcher, inventory));
        }

        // The last of two settings for one (MCI, cloud) wins, as a later write would.
        private MatchSetting? SettingOf(string mciId, string cloudId) => world.Settings.LastOrDefault(s => s.MciId == mciId && s.CloudId == cloudId);

        private static MatchResult Stale(MatchResult result) => result.Cloud.UnreachableError is null
            ? result
            : result with
            {
                Status = MatchStatus.Stale,
                Reason = $"{result.Cloud.Name} could not be reached: {result.Cloud.UnreachableError}. Last known: {result.Status.ToApi()}. {result.Reason}",
            };

        private static MatchResult PerSetting(string mciId, MatchInventory inventory, MatchSetting setting)
        {
            var cloud = inventory.Cloud;
            if (!cloud.ListsImages)
            {
                var trusted = new MatchCandidate(setting.ImageUid, setting.ImageUid, MatchEvidence.Setting, true);
                return new MatchResult(mciId, cloud, MatchStatus.Matched, trusted, [trusted], null,
                    $"a hand-written setting pins image {setting.ImageUid} (not verified: Imprint cannot list {cloud.Kind} clouds yet)", null, null);
            }
            var image = inventory.Images.FirstOrDefault(i => i.Uid == setting.ImageUid);
            if (image is null)
            {
                return new MatchResult(mciId, cloud, MatchStatus.Missing, null, [], null,
                    $"the setting's image {setting.ImageUid} no longer exists in {cloud.Name}; ask {Contact(cloud)} or choose another image", null, null);
            }
            var chosen = new MatchCandidate(image.Uid, image.Name, MatchEvidence.Setting, true);
            return new MatchResult(mciId, cloud, MatchStatus.Matched, chosen, [chosen], null, $"a hand-written setting pins image {image.Uid}", null, null);
        }

        /// <summary>Every active image that matches, contradicts or only carries the expected name, in inventory order.</summary>
        private static List<(MatchImage Image, MatchEvidence Evidence)> Candidates(MatchMatcher matcher, MatchInventory inventory)
        {
            var candidates = new List<(MatchImage, MatchEvidence)>();
            foreach (var image in inventory.Images)
            {
                if (!string.Equals(image.Status, "active", StringComparison.OrdinalIgnoreCase))
                    continue;
                MatchEvidence? evidence = matcher.Fingerprint.CompareWith(image.Digests.AsSpan()) switch
                {
                    FingerprintComparison.SameFile => MatchEvidence.SameFile,
                    FingerprintComparison.SameContent => MatchEvidence.SameContent,
                    FingerprintComparison.Contradiction => MatchEvidence.Contradiction,
                    _ => !string.IsNullOrEmpty(matcher.ImageName) && image.Name == matcher.ImageName ? MatchEvidence.NameOnly : null,
                };
                if (evidence is not null)
                    candidates.Add((image, evidence.Value));
            }
            return candidates;
        }

        private static MatchResult PerMatcher(MatchMatcher matcher, MatchInventory inventory)
        {
            var cloud = inventory.Cloud;
            var candidates = Candidates(matcher, inventory);
            var suspects = candidates.Where(c => c.Evidence is MatchEvidence.Contradiction or MatchEvidence.NameOnly)
                .Select(c => new MatchCandidate(c.Image.Uid, c.Image.Name, c.Evidence, false)).ToList();
            var name = matcher.ImageName;
            // OrderBy is stable: images equal by every criterion keep their inventory order.
            var matching = candidates.Where(c => c.Evidence is MatchEvidence.SameFile or MatchEvidence.SameContent)
                .OrderBy(c => c.Evidence == MatchEvidence.SameFile ? 0 : 1)
                .ThenBy(c => name is not null && c.Image.Name == name ? 0 : 1)
                .ThenBy(c => c.Image.IsPublic ? 0 : 1)
                .ThenByDescending(c => c.Image.CreatedAt ?? DateTimeOffset.MinValue)
                .ThenBy(c => c.Image.Uid, StringComparer.Ordinal)
                .ToList();

            if (matching.Count == 0 && suspects.Count > 0)
            {
                var first = suspects[0];
                var why = first.Evidence == MatchEvidence.NameOnly
                    ? $"image {first.Uid} is named '{first.Name}' but none of its digests matches the fingerprint"
                    : $"image {first.Uid}'s file digests agree with the fingerprint on one algorithm and contradict it on another";
                return new MatchResult(matcher.MciId, cloud, MatchStatus.Suspect, null, suspects, null,
                    $"{why}; it is not used. Ask {Contact(cloud)} to check it, or upload the image with the fingerprint.", matcher.Id, matcher.Fingerprint);
            }
            if (matching.Count == 0)
            {
                var upload = string.IsNullOrEmpty(name) ? "the image" : $"'{name}'";
                return new MatchResult(matcher.MciId, cloud, MatchStatus.NoMatch, null, [], null,
                    $"no image in {cloud.Name} matches the fingerprint: ask {Contact(cloud)} to upload {upload} with digests {matcher.Fingerprint}",
                    matcher.Id, matcher.Fingerprint);
            }
            var chosen = new MatchCandidate(matching[0].Image.Uid, matching[0].Image.Name, matching[0].Evidence, true);
            MatchCandidate[] listed =
            [
                chosen,
                .. matching.Skip(1).Select(c => new MatchCandidate(c.Image.Uid, c.Image.Name, c.Evidence, false)),
                .. suspects,
            ];
            if (matching.Count == 1)
            {
                var how = chosen.Evidence == MatchEvidence.SameFile ? "the same file" : "the same content (converted)";
                return new MatchResult(matcher.MciId, cloud, MatchStatus.Matched, chosen, listed, null,
                    $"image {chosen.Uid} is {how} as the fingerprint", matcher.Id, matcher.Fingerprint);
            }
            var (winner, runnerUp) = (matching[0], matching[1]);
            var decisive =
                winner.Evidence != runnerUp.Evidence ? "it is the same file, the others only the same content"
                : name is not null && (winner.Image.Name == name) != (runnerUp.Image.Name == name) ? "its name equals the expected image name"
                : winner.Image.IsPublic != runnerUp.Image.IsPublic ? "it is public, the others are not"
                : winner.Image.CreatedAt != runnerUp.Image.CreatedAt ? "it is the newest"
                : winner.Image.Uid != runnerUp.Image.Uid ? "it has the lowest uid"
                : "lowest uid";
            return new MatchResult(matcher.MciId, cloud, MatchStatus.Ambiguous, chosen, listed, ImageMatcher.AmbiguityRule,
                $"{matching.Count} images match the fingerprint; {chosen.Uid} was chosen: {decisive}", matcher.Id, matcher.Fingerprint);
        }

        private static string Contact(MatchCloud cloud) =>
            string.IsNullOrWhiteSpace(cloud.AdminContact) ? $"the administrator of {cloud.Name}" : $"{cloud.AdminContact} (administrator of {cloud.Name})";
    }
}

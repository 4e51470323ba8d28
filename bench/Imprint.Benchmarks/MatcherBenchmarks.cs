using BenchmarkDotNet.Attributes;
using Imprint.Core.Digests;
using Imprint.Core.Matching;

namespace Imprint.Benchmarks;

/// <summary>
/// The matcher's full recompute: every image of every cloud joined with every matcher's fingerprint, every hit resolved.
/// Images are copies of builds spread over the clouds so that most matchers find images (some several in one cloud:
/// ambiguous) and some none. The baseline is the nested loop a user would script: every matcher against every image.
/// The hash join runs on one thread below 32,768 images (so the 10,000-image ratio compares one thread with one) and on
/// every core above; restrict the process to one core (taskset -c 0) to see it on one.
/// Run: dotnet run -c Release --project bench/Imprint.Benchmarks -- --filter '*Matcher*'
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class MatcherBenchmarks
{
    private MatchInventory[] _inventories = [];
    private MatchMatcher[] _matchers = [];

    [Params(10_000, 1_000_000)]
    public int Images { get; set; }

    /// <summary>Matchers: 1,000 against 10,000 images (the nested loop's case), 100,000 against a million.</summary>
    public int Matchers => Images == 10_000 ? 1_000 : 100_000;

    public int Clouds => Images == 10_000 ? 10 : 100;

    [GlobalSetup]
    public void Setup()
    {
        var builds = Matchers * 3 / 2; // a third of the builds have no matcher
        var digests = new Digest[builds][];
        var random = new Random(42);
        var buffer = new byte[64];
        for (var b = 0; b < builds; b++)
        {
            digests[b] = [Make(DigestAlgorithm.Md5), Make(DigestAlgorithm.Sha256), Make(DigestAlgorithm.Sha512), Make(DigestAlgorithm.DiskSha256)];
        }
        Digest Make(DigestAlgorithm algorithm)
        {
            random.NextBytes(buffer);
            return Digest.FromBytes(algorithm, buffer.AsSpan(0, algorithm.ByteLength()));
        }

        var perCloud = Images / Clouds;
        _inventories = new MatchInventory[Clouds];
        for (var c = 0; c < Clouds; c++)
        {
            var images = new MatchImage[perCloud];
            for (var i = 0; i < perCloud; i++)
            {
                var build = (int)(((long)i * 7919 + (long)c * 104729) % builds);
                // Clouds report what they know: Glance-like clouds md5 + sha512, folders everything.
                var reported = c % 2 == 0 ? digests[build] : [digests[build][0], digests[build][2]];
                images[i] = new MatchImage($"img-{c}-{i}", $"build-{build}", "active", i % 5 == 0 ? "public" : "private",
                    DateTimeOffset.UnixEpoch.AddMinutes(i), [.. reported]);
            }
            _inventories[c] = new MatchInventory(new MatchCloud($"cloud-{c}", $"cloud-{c}", "folder", false, null), images);
        }
        _matchers = new MatchMatcher[Matchers];
        for (var m = 0; m < Matchers; m++)
            _matchers[m] = new MatchMatcher($"mat-{m}", $"mci-{m}", "folder", Fingerprint.From(digests[m]), $"build-{m}");
    }

    [Benchmark(Baseline = true)]
    public int NestedLoop()
    {
        if (Images > 10_000)
            return 0; // 10^11 comparisons: hours; the ratio is measured on the small case
        var found = 0;
        foreach (var matcher in _matchers)
        {
            foreach (var inventory in _inventories)
            {
                if (inventory.Cloud.Kind != matcher.CloudKind)
                    continue;
                foreach (var image in inventory.Images)
                {
                    if (image.IsActive && matcher.Fingerprint.CompareWith(image.Digests.AsSpan()) is FingerprintComparison.SameFile or FingerprintComparison.SameContent)
                        found++;
                }
            }
        }
        return found;
    }

    [Benchmark]
    public int HashJoin()
    {
        var matcher = ImageMatcher.Compute(_inventories, [], _matchers);
        var found = 0;
        foreach (var result in matcher.ResolveHits())
            found += result.Candidates.Count;
        return found;
    }
}

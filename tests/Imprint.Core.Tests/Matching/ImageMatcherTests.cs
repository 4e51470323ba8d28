using System.Security.Cryptography;
using System.Text;
using Imprint.Core.Digests;
using Imprint.Core.Matching;

namespace Imprint.Core.Tests.Matching;

public sealed class ImageMatcherTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static Digest D(DigestAlgorithm algorithm, string seed) =>
        Digest.FromBytes(algorithm, SHA512.HashData(Encoding.UTF8.GetBytes(seed)).AsSpan(0, algorithm.ByteLength()));

    private static Digest[] FileDigests(string seed) =>
        [D(DigestAlgorithm.Md5, seed), D(DigestAlgorithm.Sha256, seed), D(DigestAlgorithm.Sha512, seed)];

    private static MatchImage Image(string uid, IReadOnlyList<Digest> digests, string? name = null, string visibility = "private",
        DateTimeOffset? createdAt = null, string status = "active") =>
        new(uid, name ?? uid, status, visibility, createdAt ?? T0, [.. digests]);

    private static MatchCloud Cloud(string id, string kind = "folder", string? error = null) =>
        new(id, id + "-name", kind, false, "ops@example.com", error);

    private static MatchMatcher Matcher(string mci, IEnumerable<Digest> fingerprint, string? imageName = null, string kind = "folder") =>
        new("m-" + mci, mci, kind, Fingerprint.From(fingerprint), imageName);

    [Fact]
    public void Resolve_SameFileDigests_Matched()
    {
        var ubuntu = FileDigests("ubuntu");
        var matcher = ImageMatcher.Compute(
            [new MatchInventory(Cloud("c1"), [Image("a.img", FileDigests("other")), Image("ubuntu.qcow2", ubuntu)])],
            [], [Matcher("mci", ubuntu)]);

        var result = matcher.Resolve("mci", "c1")!;

        result.Status.ShouldBe(MatchStatus.Matched);
        result.Image!.Uid.ShouldBe("ubuntu.qcow2");
        result.Image.Evidence.ShouldBe(MatchEvidence.SameFile);
        result.Resolves.ShouldBeTrue();
    }

    [Fact]
    public void Resolve_OnlyContentDigestAgrees_MatchedBySameContent()
    {
        var content = D(DigestAlgorithm.DiskSha256, "content");
        var fingerprint = FileDigests("qcow2-file").Append(content).ToArray();
        var converted = FileDigests("raw-file").Append(content).ToArray();
        var matcher = ImageMatcher.Compute([new MatchInventory(Cloud("c1"), [Image("raw.img", converted)])], [], [Matcher("mci", fingerprint)]);

        var result = matcher.Resolve("mci", "c1")!;

        result.Status.ShouldBe(MatchStatus.Matched);
        result.Image!.Evidence.ShouldBe(MatchEvidence.SameContent);
    }

    [Fact]
    public void Resolve_FingerprintOfOneAlgorithmOnly_MatchesImageReportingSeveral()
    {
        var digests = FileDigests("ubuntu");
        var matcher = ImageMatcher.Compute([new MatchInventory(Cloud("c1"), [Image("u", digests)])], [], [Matcher("mci", [digests[0]])]);

        matcher.Resolve("mci", "c1")!.Status.ShouldBe(MatchStatus.Matched);
    }

    [Fact]
    public void Resolve_NothingMatches_NoMatchNamesFingerprintAndContact()
    {
        var fingerprint = FileDigests("ubuntu");
        var matcher = ImageMatcher.Compute([new MatchInventory(Cloud("c1"), [Image("x", FileDigests("x"))])], [], [Matcher("mci", fingerprint, "ubuntu-24.04")]);

        var result = matcher.Resolve("mci", "c1")!;

        result.Status.ShouldBe(MatchStatus.NoMatch);
        result.Image.ShouldBeNull();
        result.Fingerprint!.Digests.ShouldBe(Fingerprint.From(fingerprint).Digests);
        result.Reason.ShouldContain("ops@example.com");
        result.Reason.ShouldContain("ubuntu-24.04");
        result.Reason.ShouldContain(fingerprint[0].ToString());
        result.Resolves.ShouldBeFalse();
    }

    [Fact]
    public void Resolve_SamePrefixOtherDigest_NotAMatch()
    {
        // The join compares 64-bit prefixes; a crafted digest sharing the prefix must still not match.
        var genuine = new byte[32];
        genuine.AsSpan(0, 8).Fill(0xab);
        var forged = (byte[])genuine.Clone();
        forged[31] = 1;
        var fingerprint = new[] { Digest.FromBytes(DigestAlgorithm.Sha256, genuine) };
        var matcher = ImageMatcher.Compute(
            [new MatchInventory(Cloud("c1"), [Image("forged", [Digest.FromBytes(DigestAlgorithm.Sha256, forged)]),
                Image("named", [Digest.FromBytes(DigestAlgorithm.Sha256, forged)], name: "expected")])],
            [], [Matcher("mci", fingerprint, "expected")]);

        var result = matcher.Resolve("mci", "c1")!;

        result.Status.ShouldBe(MatchStatus.Suspect);
        result.Candidates.ShouldHaveSingleItem().Uid.ShouldBe("named");
        result.Candidates[0].Evidence.ShouldBe(MatchEvidence.NameOnly);
    }

    [Fact]
    public void Resolve_InactiveImageWithDigests_NoMatch()
    {
        var digests = FileDigests("ubuntu");
        var matcher = ImageMatcher.Compute([new MatchInventory(Cloud("c1"), [Image("u", digests, status: "queued")])], [], [Matcher("mci", digests)]);

        matcher.Resolve("mci", "c1")!.Status.ShouldBe(MatchStatus.NoMatch);
    }

    [Fact]
    public void Resolve_ExpectedNameButOtherBytes_Suspect()
    {
        var matcher = ImageMatcher.Compute(
            [new MatchInventory(Cloud("c1"), [Image("u", FileDigests("tampered"), name: "ubuntu-24.04")])],
            [], [Matcher("mci", FileDigests("ubuntu"), "ubuntu-24.04")]);

        var result = matcher.Resolve("mci", "c1")!;

        result.Status.ShouldBe(MatchStatus.Suspect);
        result.Image.ShouldBeNull();
        result.Candidates.ShouldHaveSingleItem().Evidence.ShouldBe(MatchEvidence.NameOnly);
        result.Reason.ShouldContain("named 'ubuntu-24.04'");
    }

    [Fact]
    public void Resolve_Md5AgreesSha256Differs_SuspectNeverMatched()
    {
        var genuine = FileDigests("ubuntu");
        var collision = new[] { genuine[0], D(DigestAlgorithm.Sha256, "evil") };
        var matcher = ImageMatcher.Compute([new MatchInventory(Cloud("c1"), [Image("evil", collision)])], [], [Matcher("mci", genuine)]);

        var result = matcher.Resolve("mci", "c1")!;

        result.Status.ShouldBe(MatchStatus.Suspect);
        result.Candidates.ShouldHaveSingleItem().Evidence.ShouldBe(MatchEvidence.Contradiction);
    }

    [Fact]
    public void Resolve_FileAgreesContentDiffers_Suspect()
    {
        var genuine = FileDigests("ubuntu").Append(D(DigestAlgorithm.DiskSha256, "content")).ToArray();
        var liar = FileDigests("ubuntu").Append(D(DigestAlgorithm.DiskSha256, "other")).ToArray();
        var matcher = ImageMatcher.Compute([new MatchInventory(Cloud("c1"), [Image("liar", liar)])], [], [Matcher("mci", genuine)]);

        matcher.Resolve("mci", "c1")!.Status.ShouldBe(MatchStatus.Suspect);
    }

    [Fact]
    public void Resolve_SuspectBesideGenuine_MatchedAndSuspectListed()
    {
        var genuine = FileDigests("ubuntu");
        var matcher = ImageMatcher.Compute(
            [new MatchInventory(Cloud("c1"), [Image("fake", FileDigests("fake"), name: "ubuntu"), Image("real", genuine)])],
            [], [Matcher("mci", genuine, "ubuntu")]);

        var result = matcher.Resolve("mci", "c1")!;

        result.Status.ShouldBe(MatchStatus.Matched);
        result.Image!.Uid.ShouldBe("real");
        result.Candidates.Select(c => (c.Uid, c.Evidence)).ShouldBe([("real", MatchEvidence.SameFile), ("fake", MatchEvidence.NameOnly)]);
    }

    [Fact]
    public void Resolve_SeveralMatch_AmbiguousPrefersSameFileOverSameContent()
    {
        var content = D(DigestAlgorithm.DiskSha256, "content");
        var fingerprint = FileDigests("f").Append(content).ToArray();
        var matcher = ImageMatcher.Compute(
            [new MatchInventory(Cloud("c1"), [
                Image("converted", FileDigests("raw").Append(content).ToArray(), visibility: "public", createdAt: T0.AddDays(9)),
                Image("original", fingerprint)])],
            [], [Matcher("mci", fingerprint)]);

        var result = matcher.Resolve("mci", "c1")!;

        result.Status.ShouldBe(MatchStatus.Ambiguous);
        result.Image!.Uid.ShouldBe("original");
        result.Candidates.Count.ShouldBe(2);
        result.Candidates.Count(c => c.Chosen).ShouldBe(1);
        result.Rule.ShouldBe(ImageMatcher.AmbiguityRule);
        result.Reason.ShouldContain("same file");
    }

    [Fact]
    public void Resolve_Ambiguous_PrefersExpectedNameThenPublicThenNewestThenLowestUid()
    {
        var d = FileDigests("u");
        ImageMatcher Run(params MatchImage[] images) =>
            ImageMatcher.Compute([new MatchInventory(Cloud("c1"), images)], [], [Matcher("mci", d, "ubuntu")]);

        Run(Image("b", d, name: "copy", visibility: "public"), Image("a", d, name: "ubuntu")).Resolve("mci", "c1")!
            .Image!.Uid.ShouldBe("a");
        Run(Image("a", d, name: "x"), Image("b", d, name: "y", visibility: "public")).Resolve("mci", "c1")!
            .Image!.Uid.ShouldBe("b");
        var newest = Run(Image("a", d, createdAt: T0), Image("b", d, createdAt: T0.AddHours(1))).Resolve("mci", "c1")!;
        newest.Image!.Uid.ShouldBe("b");
        newest.Reason.ShouldContain("newest");
        Run(Image("b", d), Image("a", d)).Resolve("mci", "c1")!.Image!.Uid.ShouldBe("a");
    }

    [Fact]
    public void Resolve_HandWrittenSetting_WinsOverMatcher()
    {
        var d = FileDigests("u");
        var matcher = ImageMatcher.Compute(
            [new MatchInventory(Cloud("c1"), [Image("matching", d), Image("pinned", FileDigests("p"))])],
            [new MatchSetting("mci", "c1", "pinned")], [Matcher("mci", d)]);

        var result = matcher.Resolve("mci", "c1")!;

        result.Status.ShouldBe(MatchStatus.Matched);
        result.Image!.Uid.ShouldBe("pinned");
        result.Image.Evidence.ShouldBe(MatchEvidence.Setting);
        result.MatcherId.ShouldBeNull();
    }

    [Fact]
    public void Resolve_SettingImageGone_Missing()
    {
        var matcher = ImageMatcher.Compute([new MatchInventory(Cloud("c1"), [Image("other", FileDigests("o"))])], [new MatchSetting("mci", "c1", "ami-123")], []);

        var result = matcher.Resolve("mci", "c1")!;

        result.Status.ShouldBe(MatchStatus.Missing);
        result.Reason.ShouldContain("ami-123");
        result.Resolves.ShouldBeFalse();
    }

    [Fact]
    public void Resolve_UnreachableCloud_StaleKeepsLastKnownImage()
    {
        var d = FileDigests("u");
        var matcher = ImageMatcher.Compute([new MatchInventory(Cloud("c1", error: "connection refused"), [Image("u.img", d)])], [], [Matcher("mci", d)]);

        var result = matcher.Resolve("mci", "c1")!;

        result.Status.ShouldBe(MatchStatus.Stale);
        result.Image!.Uid.ShouldBe("u.img");
        result.Reason.ShouldContain("connection refused");
        result.Reason.ShouldContain("Last known: matched");
        result.Resolves.ShouldBeTrue();
    }

    [Fact]
    public void Resolve_MatcherOfOtherKind_DoesNotApply()
    {
        var d = FileDigests("u");
        var matcher = ImageMatcher.Compute([new MatchInventory(Cloud("c1", kind: "openstack"), [Image("u", d)])], [], [Matcher("mci", d, kind: "folder")]);

        matcher.Resolve("mci", "c1").ShouldBeNull();
        matcher.HitCount.ShouldBe(0);
        matcher.ResolveCloud("c1").ShouldBeEmpty();
    }

    [Fact]
    public void ResolveCloud_ListsEveryMciWithSettingOrMatcherThere()
    {
        var d = FileDigests("u");
        var matcher = ImageMatcher.Compute(
            [new MatchInventory(Cloud("c1"), [Image("u", d)]), new MatchInventory(Cloud("c2"), [])],
            [new MatchSetting("pinned", "c1", "u")],
            [Matcher("m1", d), Matcher("m2", FileDigests("v"))]);

        matcher.ResolveCloud("c1").Select(r => (r.MciId, r.Status)).ShouldBe(
            [("m1", MatchStatus.Matched), ("m2", MatchStatus.NoMatch), ("pinned", MatchStatus.Matched)]);
        matcher.ResolveCloud("c2").Select(r => (r.MciId, r.Status)).ShouldBe([("m1", MatchStatus.NoMatch), ("m2", MatchStatus.NoMatch)]);
    }
}

using Imprint.Core.Digests;

namespace Imprint.Core.Tests.Digests;

public sealed class DigestTests
{
    private const string Sha256Hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    [Fact]
    public void Parse_UppercaseHex_IsLowercasedAndEqualToLowercase()
    {
        var upper = Digest.Parse("SHA256:" + Sha256Hex.ToUpperInvariant());
        var lower = Digest.Parse("sha256:" + Sha256Hex);

        upper.Success.ShouldBeTrue();
        upper.Value.ShouldBe(lower.Value);
        upper.Value.ToString().ShouldBe("sha256:" + Sha256Hex);
        upper.Value.GetHashCode().ShouldBe(lower.Value.GetHashCode());
    }

    [Theory]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e", DigestAlgorithm.Md5)]
    [InlineData("sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709", DigestAlgorithm.Sha1)]
    [InlineData("disk-sha256:" + Sha256Hex, DigestAlgorithm.DiskSha256)]
    public void Parse_EachAlgorithm_Succeeds(string text, DigestAlgorithm algorithm)
    {
        var result = Digest.Parse(text);

        result.Success.ShouldBeTrue();
        result.Value.Algorithm.ShouldBe(algorithm);
    }

    [Theory]
    [InlineData("", "required")]
    [InlineData("sha256", "not a digest")]
    [InlineData("crc32:1234abcd", "unknown digest algorithm 'crc32'")]
    [InlineData("sha256:abc", "64 hex digits, not 3")]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427z", "'z' is not a hex digit")]
    public void Parse_Invalid_FailsWithReason(string text, string reason)
    {
        var result = Digest.Parse(text);

        result.Success.ShouldBeFalse();
        result.Error.ShouldContain(reason);
    }

    [Fact]
    public void Equality_SamePrefixDifferentTail_NotEqual()
    {
        var a = Digest.Parse("sha256:" + Sha256Hex).Value;
        var b = Digest.Parse("sha256:" + Sha256Hex[..^1] + "9").Value;

        a.ShouldNotBe(b);
    }

    [Fact]
    public void Equality_SameHexDifferentAlgorithm_NotEqual()
    {
        var file = Digest.Parse("sha256:" + Sha256Hex).Value;
        var content = Digest.Parse("disk-sha256:" + Sha256Hex).Value;

        file.ShouldNotBe(content);
    }
}

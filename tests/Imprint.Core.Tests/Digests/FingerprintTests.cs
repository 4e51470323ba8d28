using Imprint.Core.Digests;

namespace Imprint.Core.Tests.Digests;

public sealed class FingerprintTests
{
    private const string Md5 = "md5:d41d8cd98f00b204e9800998ecf8427e";
    private const string Sha256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    [Fact]
    public void Parse_ValidDigests_OrderedByAlgorithm()
    {
        var result = Fingerprint.Parse([Sha256, Md5]);

        result.Success.ShouldBeTrue();
        result.Value!.ToStrings().ShouldBe([Md5, Sha256]);
    }

    [Fact]
    public void Parse_BadEntry_NamesItsIndex()
    {
        var result = Fingerprint.Parse([Md5, "sha256:zz"]);

        result.Success.ShouldBeFalse();
        result.Error.ShouldStartWith("fingerprint[1]:");
    }

    [Fact]
    public void Parse_TwoDifferentDigestsOfOneAlgorithm_Fails()
    {
        var result = Fingerprint.Parse([Md5, "md5:00000000000000000000000000000000"]);

        result.Success.ShouldBeFalse();
        result.Error.ShouldContain("two different md5");
    }

    [Fact]
    public void Parse_Empty_Fails()
    {
        Fingerprint.Parse([]).Success.ShouldBeFalse();
        Fingerprint.Parse(null).Success.ShouldBeFalse();
    }

    [Fact]
    public void CompareWith_NoCommonAlgorithm_Different()
    {
        var fingerprint = Fingerprint.Parse([Md5]).Value!;

        fingerprint.CompareWith([Digest.Parse(Sha256).Value]).ShouldBe(FingerprintComparison.Different);
    }
}

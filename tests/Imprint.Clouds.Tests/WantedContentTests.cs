using Imprint.Core.Digests;

namespace Imprint.Clouds.Tests;

public sealed class WantedContentTests
{
    private static Digest Disk(byte fill) => Digest.FromBytes(DigestAlgorithm.DiskSha256, Enumerable.Repeat(fill, 32).ToArray());

    [Theory]
    [InlineData(1024L, true)] // the size of a wanted digest
    [InlineData(4096L, true)]
    [InlineData(2048L, false)] // no wanted digest has this size
    [InlineData(null, true)] // the image's size is unknown
    public void CouldMatch_WantedSizesKnown_OnlyThoseSizesOrUnknown(long? imageSize, bool expected)
    {
        var wanted = new WantedContent([(Disk(1), 1024), (Disk(2), 4096)]);

        wanted.CouldMatch(imageSize).ShouldBe(expected);
    }

    [Fact]
    public void CouldMatch_OneWantedSizeUnknown_AnySize()
    {
        var wanted = new WantedContent([(Disk(1), 1024), (Disk(2), null)]);

        wanted.CouldMatch(2048).ShouldBeTrue();
        wanted.Digests.Count.ShouldBe(2);
    }

    [Fact]
    public void CouldMatch_NothingWantedOrOnlyFileDigests_NeverDownloads()
    {
        var fileOnly = new WantedContent([(Digest.FromBytes(DigestAlgorithm.Sha256, new byte[32]), null)]);

        WantedContent.None.CouldMatch(null).ShouldBeFalse();
        fileOnly.IsEmpty.ShouldBeTrue();
        fileOnly.CouldMatch(null).ShouldBeFalse();
        fileOnly.CouldMatch(1024).ShouldBeFalse();
    }
}

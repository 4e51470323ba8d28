using Imprint.Clouds;

namespace Imprint.Ui.Tests;

/// <summary>The words the pages put on a rematch's content work.</summary>
public sealed class UiTextTests
{
    [Fact]
    public void ContentWork_NothingDownloadedOrDeferred_SaysNothing()
    {
        UiText.ContentWork(null).ShouldBeNull();
        UiText.ContentWork(new ContentFingerprinting(0, 0, [], [])).ShouldBeNull();
    }

    [Fact]
    public void ContentWork_DownloadsDeferralsAndUnreadable_InOneSentence()
    {
        var text = UiText.ContentWork(new ContentFingerprinting(1, 3L << 30, ["a", "b"], ["c"]));

        text.ShouldBe("Content: 1 image fingerprinted from 3 GiB downloaded; 2 images left for the next rematch (download cap reached or download failed); "
            + "1 image not a disk image Imprint can read.");
    }
}

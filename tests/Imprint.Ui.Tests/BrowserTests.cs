using Microsoft.Playwright;

namespace Imprint.Ui.Tests;

/// <summary>
/// Debian's Chromium (never a downloaded browser) driven by Playwright against the real server. These tests fail, not skip,
/// when <c>/usr/bin/chromium</c> is missing: CI must install the <c>chromium</c> package.
/// </summary>
public sealed class BrowserTests(UiServer server) : IClassFixture<UiServer>, IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string[] ChromiumArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public static string ScreenshotDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async ValueTask InitializeAsync()
    {
        File.Exists(ChromiumPath).ShouldBeTrue($"{ChromiumPath} is missing: install Debian's chromium package (apt-get install -y chromium)");
        Directory.CreateDirectory(ScreenshotDirectory);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Args = ChromiumArgs, Headless = true });
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }

    private async Task<IPage> SignedInPageAsync(int width = 1280)
    {
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = server.BaseAddress.ToString(), ViewportSize = new ViewportSize { Width = width, Height = 900 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/ui/server-templates");
        page.Url.ShouldContain("/ui/login"); // signed out: sent to the sign-in
        await page.GetByLabel("API token").FillAsync(server.AdminToken);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "ServerTemplates", Exact = true }).WaitForAsync();
        page.Url.ShouldEndWith("/ui/server-templates");
        return page;
    }

    private static Task ShotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });

    [Fact]
    public async Task Walk_Template_Images_Mci_Clouds_ImageMap_ThenRematchAfterAnImageArrives()
    {
        var page = await SignedInPageAsync();
        await ShotAsync(page, "01-server-templates");

        await page.GetByRole(AriaRole.Link, new() { Name = "Database server" }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "MultiCloud Images" }).WaitForAsync();
        (await page.Locator(".badge.default").InnerTextAsync()).ShouldContain("Default");
        await ShotAsync(page, "02-server-template-images");

        await page.GetByRole(AriaRole.Link, new() { Name = "AlmaLinux 9" }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "Matchers" }).WaitForAsync();
        (await page.Locator("code.digest").First.InnerTextAsync()).ShouldStartWith("md5:");
        await ShotAsync(page, "03-mci-clouds");

        await page.Locator("#image-map-link").ClickAsync();
        var branch = page.Locator("article[data-cloud='branch-office']");
        (await branch.GetAttributeAsync("data-status")).ShouldBe("no-match");
        (await branch.Locator(".status").InnerTextAsync()).ShouldContain("no-match");
        (await branch.Locator("a.mailto").GetAttributeAsync("href"))!.ShouldStartWith("mailto:branch-it@example.com");
        await ShotAsync(page, "04-image-map-before-rematch");

        // The administrator uploads the image: a file lands in the folder cloud's directory.
        var demo = Path.Combine(server.DataDirectory, "demo");
        File.Copy(Path.Combine(demo, "lab-kvm", "almalinux-9.raw"), Path.Combine(demo, "branch-office", "almalinux-9.raw"), overwrite: true);
        await page.GetByRole(AriaRole.Button, new() { Name = "Rematch" }).ClickAsync();
        await page.Locator("#rematch-report").WaitForAsync();
        (await page.Locator("#rematch-report").InnerTextAsync()).ShouldContain("Created setting");
        branch = page.Locator("article[data-cloud='branch-office']");
        (await branch.GetAttributeAsync("data-status")).ShouldBe("matched");
        (await branch.Locator(".status").InnerTextAsync()).ShouldContain("matched");
        (await branch.Locator("a.image-link").InnerTextAsync()).ShouldBe("almalinux-9.raw");
        await ShotAsync(page, "05-image-map-after-rematch");
    }

    [Fact]
    public async Task Launch_WhereAllowed_AndTheRefusalExplainedWhereNot()
    {
        var page = await SignedInPageAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Database server" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Launch", Exact = true }).ClickAsync();
        var offered = await page.Locator("#cloudId option").AllInnerTextsAsync();
        offered.ShouldContain("lab-kvm");
        offered.ShouldNotContain("aws-us-east-1");
        var refusals = page.Locator("ul.refusals");
        (await refusals.InnerTextAsync()).ShouldContain("aws-us-east-1: ✖ cannot launch — none of its MultiCloud Images has a setting for aws-us-east-1 or a matcher for ec2 clouds");
        await ShotAsync(page, "06-launch-form");

        await page.GetByLabel("Server name").FillAsync("db-browser-1");
        await page.GetByLabel("Cloud", new() { Exact = true }).SelectOptionAsync(new SelectOptionValue { Label = "lab-kvm" });
        await page.GetByRole(AriaRole.Button, new() { Name = "Launch" }).ClickAsync();
        var done = page.Locator(".notice.ok");
        (await done.InnerTextAsync()).ShouldContain("Launched server db-browser-1 ");
        await ShotAsync(page, "07-launched");
    }

    [Fact]
    public async Task Clouds_RegisterFormAnswersInvalidInputBesideTheFields_AtPhoneWidth()
    {
        var page = await SignedInPageAsync(width: 375);
        await page.GotoAsync("/ui/clouds");
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("phone-cloud");
        await page.GetByLabel("Endpoint").FillAsync("not/absolute");
        await page.GetByRole(AriaRole.Button, new() { Name = "Register cloud" }).ClickAsync();
        (await page.Locator("#endpoint-error").InnerTextAsync()).ShouldContain("absolute directory path");
        (await page.GetByLabel("Name", new() { Exact = true }).InputValueAsync()).ShouldBe("phone-cloud");
        var scrollWidth = await page.EvaluateAsync<int>("document.documentElement.scrollWidth");
        scrollWidth.ShouldBeLessThanOrEqualTo(375, "the page must not scroll sideways at phone width");
        await ShotAsync(page, "08-clouds-register-phone");

        var lab = page.GetByRole(AriaRole.Link, new() { Name = "lab-kvm" });
        await lab.ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "Inventory" }).WaitForAsync();
        await ShotAsync(page, "09-cloud-inventory-phone");
    }

    [Fact]
    public async Task Keyboard_ReachesTheSkipLinkAndNavigation()
    {
        var page = await SignedInPageAsync();
        await page.Keyboard.PressAsync("Tab");
        (await page.EvaluateAsync<string>("document.activeElement.textContent")).ShouldBe("Skip to content");
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.PressAsync("Tab");
        (await page.EvaluateAsync<string>("document.activeElement.textContent")).ShouldBe("ServerTemplates");
    }
}

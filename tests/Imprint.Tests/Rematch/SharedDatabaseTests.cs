using System.Diagnostics;
using Imprint.Rematch;
using Imprint.Storage;
using Imprint.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Imprint.Tests.Rematch;

/// <summary>
/// Two `imprint serve` on one PostgreSQL database (each with its own services, locks and data dir, as two processes
/// would have): a cloud is rematched by one of them at a time.
/// </summary>
public sealed class SharedDatabaseTests : IAsyncLifetime
{
    private readonly PostgresImprintServer _first = new();
    private SharedDatabaseServer? _second;

    private SharedDatabaseServer Second => _second ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        await _first.InitializeAsync();
        _second = new SharedDatabaseServer(_first.Database!);
        await _second.InitializeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_second is not null)
            await _second.DisposeAsync();
        await _first.DisposeAsync();
    }

    [Fact]
    public async Task RematchSameCloudInBothAtOnce_OneAfterTheOther_BothOk()
    {
        using var one = _first.Client();
        // The second server has its own admin token file; the first one's token is valid in the shared database.
        using var two = new ApiClient(Second.BaseAddress, _first.AdminToken);
        var folder = TestImages.NewFolder();
        for (var i = 0; i < 60; i++)
            TestImages.Write(folder, $"img-{i:00}.raw", seed: i, size: 1024 * 1024);
        var cloud = await one.CreateFolderCloudAsync(folder);

        // Both hash 60 MiB for a first inventory: without the lease both would insert the same rows, and one would fail.
        var reports = await Task.WhenAll(one.RematchAsync(cloud), two.RematchAsync(cloud));

        reports.Select(r => r["status"]).ShouldBe(["ok", "ok"]);
        reports.Select(r => r.Body["inventory"]!["added"]!.GetValue<int>()).Order().ShouldBe([0, 60]);
        (await one.GetAsync($"/api/clouds/{cloud}/images?limit=100")).Body["items"]!.AsArray().Count.ShouldBe(60);
        await using var db = await _first.App.Services.GetRequiredService<IDbContextFactory<ImprintDb>>().CreateDbContextAsync(TestContext.Current.CancellationToken);
        (await db.Clouds.SingleAsync(c => c.Id == cloud, TestContext.Current.CancellationToken)).RematchLeaseOwner.ShouldBeNull("released after the rematch");
    }

    [Fact]
    public async Task LeaseHeldByOneServer_OtherCannotTakeItWithoutWaiting_UntilReleased()
    {
        var ct = TestContext.Current.CancellationToken;
        using var one = _first.Client();
        var cloud = await one.CreateFolderCloudAsync(TestImages.NewFolder());
        var firstLeases = _first.App.Services.GetRequiredService<CloudLeases>();
        var secondLeases = Second.App.Services.GetRequiredService<CloudLeases>();

        var held = await firstLeases.AcquireAsync(cloud, wait: false, ct);

        held.ShouldNotBeNull();
        (await secondLeases.AcquireAsync(cloud, wait: false, ct)).ShouldBeNull();
        var account = await AccountOfAsync(cloud);
        (await Second.App.Services.GetRequiredService<RematchService>().RematchCloudAsync(account, cloud, ct, wait: false)).ShouldBeNull();
        var waiting = secondLeases.AcquireAsync(cloud, wait: true, ct);
        await Task.Delay(500, ct);
        waiting.IsCompleted.ShouldBeFalse();
        await held.DisposeAsync();
        await using var taken = await waiting.WaitAsync(TimeSpan.FromSeconds(10), ct);
        taken.ShouldNotBeNull();
        (await firstLeases.AcquireAsync("cld_nosuchcloud", wait: true, ct)).ShouldBeNull();
    }

    [Fact]
    public async Task LeaseOfAProcessThatDied_TakenOverAtOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        using var one = _first.Client();
        var folder = TestImages.NewFolder();
        TestImages.Write(folder, "a.raw", seed: 1);
        var cloud = await one.CreateFolderCloudAsync(folder);
        using var dead = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        var started = dead.StartTime.ToUniversalTime().Ticks;
        dead.Kill();
        await dead.WaitForExitAsync(ct);
        await using (var db = await _first.App.Services.GetRequiredService<IDbContextFactory<ImprintDb>>().CreateDbContextAsync(ct))
        {
            var owner = CloudLeases.OwnerOf(Environment.MachineName, dead.Id, started);
            var until = TimeProvider.System.GetUtcNow().AddHours(1);
            await db.Clouds.Where(c => c.Id == cloud).ExecuteUpdateAsync(s => s.SetProperty(c => c.RematchLeaseOwner, owner).SetProperty(c => c.RematchLeaseUntil, until), ct);
        }

        var report = await one.RematchAsync(cloud).WaitAsync(TimeSpan.FromSeconds(20), ct);

        report["status"].ShouldBe("ok");
        report.Body["inventory"]!["added"]!.GetValue<int>().ShouldBe(1);
    }

    private async Task<string> AccountOfAsync(string cloud)
    {
        await using var db = await _first.App.Services.GetRequiredService<IDbContextFactory<ImprintDb>>().CreateDbContextAsync(TestContext.Current.CancellationToken);
        return await db.Clouds.Where(c => c.Id == cloud).Select(c => c.AccountId).SingleAsync(TestContext.Current.CancellationToken);
    }
}

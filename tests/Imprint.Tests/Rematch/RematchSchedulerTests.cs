using Imprint.Rematch;
using Imprint.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Imprint.Tests.Rematch;

public sealed class RematchSchedulerTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly ImprintServer _server;

    public RematchSchedulerTests() =>
        _server = new ImprintServer { ConfigureServices = services => services.AddSingleton<TimeProvider>(_time) };

    public ValueTask InitializeAsync() => _server.InitializeAsync();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task RunDue_NewCloudAtOnce_ThenAfterItsIntervalWithJitter()
    {
        using var api = _server.Client();
        var folder = TestImages.NewFolder();
        TestImages.Write(folder, "a.raw", seed: 1);
        var cloud = (await api.PostAsync("/api/clouds", new { name = "scheduled", kind = "folder", endpoint = folder, syncInterval = "00:10:00" })).ShouldHaveStatus(201)["id"];
        var scheduler = ActivatorUtilities.CreateInstance<RematchScheduler>(_server.App.Services, TimeSpan.FromSeconds(5));
        var ct = TestContext.Current.CancellationToken;

        (await scheduler.RunDueAsync(ct)).ShouldBe(1);
        (await api.GetAsync($"/api/clouds/{cloud}/images")).Body["items"]!.AsArray().Count.ShouldBe(1);
        (await scheduler.RunDueAsync(ct)).ShouldBe(0);
        _time.Advance(TimeSpan.FromMinutes(9));
        (await scheduler.RunDueAsync(ct)).ShouldBe(0);
        _time.Advance(TimeSpan.FromMinutes(2)); // interval 10 min plus at most 10 % jitter
        (await scheduler.RunDueAsync(ct)).ShouldBe(1);
        var state = await api.GetAsync($"/api/clouds/{cloud}");
        DateTimeOffset.Parse(state["lastSyncAttemptAt"], System.Globalization.CultureInfo.InvariantCulture).ShouldBe(_time.GetUtcNow());
    }

    [Fact]
    public async Task Rematch_ConcurrentRequestsForOneCloud_RunOneAtATime()
    {
        using var api = _server.Client();
        var folder = TestImages.NewFolder();
        for (var i = 0; i < 30; i++)
            TestImages.Write(folder, $"img-{i:00}.raw", seed: i, size: 64 * 1024);
        var cloud = await api.CreateFolderCloudAsync(folder);

        var replies = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => api.PostAsync($"/api/clouds/{cloud}/rematch")));

        replies.ShouldAllBe(r => r.Status == 200 && r.Body["status"]!.ToString() == "ok");
        replies.Sum(r => r.Body["inventory"]!["added"]!.GetValue<int>()).ShouldBe(30);
        (await api.GetAsync($"/api/clouds/{cloud}/images?limit=100")).Body["items"]!.AsArray().Count.ShouldBe(30);
    }
}

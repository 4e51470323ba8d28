using Imprint.Storage;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Rematch;

/// <summary>
/// Scheduled rematch: every tick, rematches the clouds whose <c>NextSyncAt</c> has come (each cloud's
/// <c>syncInterval</c>, default 15 minutes, plus up to 10 % jitter so that clouds registered together spread out).
/// </summary>
internal sealed class RematchScheduler(
    IDbContextFactory<ImprintDb> dbFactory,
    RematchService rematch,
    TimeProvider time,
    TimeSpan tick,
    ILogger<RematchScheduler> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await RunDueAsync(stoppingToken);
            try
            {
                await Task.Delay(tick, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Rematches every cloud that is due now; returns how many it rematched.</summary>
    public async Task<int> RunDueAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        List<(string Id, string AccountId)> due;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            due = (await db.Clouds
                .Where(c => c.NextSyncAt == null || c.NextSyncAt <= now)
                .OrderBy(c => c.NextSyncAt)
                .Select(c => new { c.Id, c.AccountId })
                .ToListAsync(cancellationToken))
                .Select(c => (c.Id, c.AccountId)).ToList();
        }
        foreach (var (id, accountId) in due)
        {
            try
            {
                // A cloud another process is rematching is left to it: that rematch moves its NextSyncAt on.
                await rematch.RematchCloudAsync(accountId, id, cancellationToken, wait: false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                Log.ScheduledRematchCrashed(logger, e, id);
            }
        }
        return due.Count;
    }
}

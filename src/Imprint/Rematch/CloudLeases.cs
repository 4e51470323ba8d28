using System.Diagnostics;
using System.Globalization;
using Imprint.Storage;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Rematch;

/// <summary>
/// A cloud's rematch lease, kept in the cloud's row so that several <c>imprint serve</c> processes on one database never
/// rematch (or recompute) the same cloud at once: taken with one conditional <c>UPDATE</c>, renewed while held, confirmed
/// inside the write transaction (which also locks the row on PostgreSQL), released at the end. A lease whose holder died
/// expires after <see cref="Duration"/>; one held by a dead process of this machine is taken over at once.
/// </summary>
internal sealed class CloudLeases(IDbContextFactory<ImprintDb> dbFactory, TimeProvider time, ILogger<CloudLeases> logger)
{
    /// <summary>How long a lease lasts unless renewed; it is renewed every quarter of it.</summary>
    public static readonly TimeSpan Duration = TimeSpan.FromMinutes(2);

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);

    /// <summary>This process, as a lease holder: <c>machine/pid/start ticks/random</c>.</summary>
    public string Owner { get; } = OwnerOf(Environment.MachineName, Environment.ProcessId, Process.GetCurrentProcess().StartTime.ToUniversalTime().Ticks);

    /// <summary>
    /// Takes the cloud's lease, waiting while another process holds it when <paramref name="wait"/> is set. Null when
    /// the cloud does not exist or, without waiting, when another process holds it.
    /// </summary>
    public async Task<CloudLease?> AcquireAsync(string cloudId, bool wait, CancellationToken cancellationToken)
    {
        var waited = false;
        while (true)
        {
            await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
            {
                if (await TryTakeAsync(db, cloudId, cancellationToken))
                    return new CloudLease(this, cloudId);
                var holder = await db.Clouds.Where(c => c.Id == cloudId).Select(c => new { c.RematchLeaseOwner }).SingleOrDefaultAsync(cancellationToken);
                if (holder is null)
                    return null;
                if (holder.RematchLeaseOwner is { } owner && IsDeadLocalProcess(owner) && await TryTakeAsync(db, cloudId, cancellationToken, from: owner))
                {
                    Log.RematchLeaseTakenOver(logger, cloudId, owner);
                    return new CloudLease(this, cloudId);
                }
                if (!wait)
                    return null;
                if (!waited)
                    Log.RematchLeaseWaiting(logger, cloudId, holder.RematchLeaseOwner ?? "?");
                waited = true;
            }
            // Real time, whatever the TimeProvider: the other process works in it.
            await Task.Delay(Poll, cancellationToken);
        }
    }

    /// <summary>
    /// Inside the rematch's write transaction: extends the lease and says whether this process still holds it. On
    /// PostgreSQL the update also locks the cloud's row until the transaction ends.
    /// </summary>
    public async Task<bool> ConfirmAsync(ImprintDb db, string cloudId, CancellationToken cancellationToken)
    {
        var until = time.GetUtcNow() + Duration;
        return await db.Clouds.Where(c => c.Id == cloudId && c.RematchLeaseOwner == Owner)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.RematchLeaseUntil, until), cancellationToken) == 1;
    }

    internal async Task RenewAsync(string cloudId, CancellationToken cancellationToken)
    {
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            if (!await ConfirmAsync(db, cloudId, cancellationToken))
                Log.RematchLeaseLost(logger, cloudId);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The database may be back before the lease runs out; the write transaction confirms it in any case.
            Log.RematchLeaseRenewalFailed(logger, e, cloudId);
        }
    }

    internal async Task ReleaseAsync(string cloudId)
    {
        await using var db = await dbFactory.CreateDbContextAsync();
        await db.Clouds.Where(c => c.Id == cloudId && c.RematchLeaseOwner == Owner)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.RematchLeaseOwner, (string?)null).SetProperty(c => c.RematchLeaseUntil, (DateTimeOffset?)null));
    }

    /// <summary>
    /// Takes the lease when it is free, run out or already ours; or, given <paramref name="from"/>, only from that
    /// holder (one found dead). One conditional UPDATE: of two processes trying at once, one gets the row.
    /// </summary>
    private async Task<bool> TryTakeAsync(ImprintDb db, string cloudId, CancellationToken cancellationToken, string? from = null)
    {
        var now = time.GetUtcNow();
        var until = now + Duration;
        return await db.Clouds
            .Where(c => c.Id == cloudId && (from != null
                ? c.RematchLeaseOwner == from
                : c.RematchLeaseOwner == null || c.RematchLeaseUntil == null || c.RematchLeaseUntil < now || c.RematchLeaseOwner == Owner))
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.RematchLeaseOwner, Owner).SetProperty(c => c.RematchLeaseUntil, until), cancellationToken) == 1;
    }

    internal static string OwnerOf(string machine, int pid, long startTicks) =>
        string.Create(CultureInfo.InvariantCulture, $"{machine}/{pid}/{startTicks}/{Guid.NewGuid():N}");

    /// <summary>
    /// True when the owner names a process of this machine that is no longer running (a crash or a kill): its lease need
    /// not run out. A pid reused since is told apart by its start time.
    /// </summary>
    internal static bool IsDeadLocalProcess(string owner)
    {
        var parts = owner.Split('/');
        if (parts.Length != 4 || parts[0] != Environment.MachineName
            || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var pid)
            || !long.TryParse(parts[2], CultureInfo.InvariantCulture, out var startTicks))
            return false;
        if (pid == Environment.ProcessId)
            return false; // This process: another instance in it (tests host several servers in one process) is alive.
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited || process.StartTime.ToUniversalTime().Ticks != startTicks;
        }
        catch (ArgumentException)
        {
            return true; // No such process.
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return true; // It exited while we looked (its /proc entry went away).
        }
    }
}

/// <summary>A held cloud lease: renewed in the background until disposed, then released.</summary>
internal sealed class CloudLease : IAsyncDisposable
{
    private readonly CloudLeases _leases;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewal;

    public CloudLease(CloudLeases leases, string cloudId)
    {
        _leases = leases;
        CloudId = cloudId;
        _renewal = RenewAsync();
    }

    public string CloudId { get; }

    private async Task RenewAsync()
    {
        try
        {
            while (true)
            {
                await Task.Delay(CloudLeases.Duration / 4, _stop.Token);
                await _leases.RenewAsync(CloudId, _stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // Released.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _renewal;
        _stop.Dispose();
        await _leases.ReleaseAsync(CloudId);
    }
}

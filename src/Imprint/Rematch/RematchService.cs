using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Imprint.Clouds;
using Imprint.Core.Catalog;
using Imprint.Core.Digests;
using Imprint.Core.Matching;
using Imprint.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Rematch;

/// <summary>
/// Rematch: sync a cloud's inventory through its connector, replace the inventory only when the sync succeeded,
/// recompute the cloud's matches with the (pure) <see cref="ImageMatcher"/>, and apply the diff of generated settings,
/// all of the writes in one transaction. One rematch or recompute per cloud at a time: in this process by a lock, across
/// the processes sharing the database by the cloud's <see cref="CloudLeases">lease</see>.
/// </summary>
internal sealed class RematchService(
    IDbContextFactory<ImprintDb> dbFactory,
    CloudLeases leases,
    IEnumerable<ICloudConnector> connectors,
    IDataProtectionProvider dataProtection,
    TimeProvider time,
    ILogger<RematchService> logger)
{
    public const string CredentialsPurpose = "Imprint.CloudCredentials";

    private readonly Dictionary<string, ICloudConnector> _connectors = connectors.ToDictionary(c => c.Kind, StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _cloudLocks = new(StringComparer.Ordinal);

    public bool CanList(string kind) => _connectors.ContainsKey(kind);

    /// <summary>
    /// Syncs the cloud and recomputes its matches. A failed sync keeps the last good inventory and marks the matches stale.
    /// Null when the cloud does not exist or, unless <paramref name="wait"/>, when another process is rematching it.
    /// </summary>
    public Task<RematchReport?> RematchCloudAsync(string accountId, string cloudId, CancellationToken cancellationToken, bool wait = true) =>
        ExclusiveAsync(cloudId, wait, () => RematchLockedAsync(accountId, cloudId, cancellationToken), cancellationToken);

    /// <summary>Recomputes the matches of the given clouds from their last good inventories, without asking the clouds.</summary>
    public async Task RecomputeAsync(string accountId, IEnumerable<string> cloudIds, CancellationToken cancellationToken)
    {
        foreach (var cloudId in cloudIds.Distinct())
        {
            await ExclusiveAsync<object?>(cloudId, wait: true, async () =>
            {
                await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
                await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
                await ConfirmLeaseAsync(db, cloudId, cancellationToken);
                var cloud = await db.Clouds.SingleOrDefaultAsync(c => c.Id == cloudId && c.AccountId == accountId, cancellationToken);
                if (cloud is null)
                    return null;
                var images = await db.Images.Where(i => i.CloudId == cloudId).AsNoTracking().ToListAsync(cancellationToken);
                var matchers = await MatchersOfAsync(db, cloud, cancellationToken);
                await ApplyMatchesAsync(db, cloud, matchers, images.Select(InventoryMapping.ToMatchImage).ToList(), cancellationToken);
                await db.SaveChangesAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                return null;
            }, cancellationToken);
        }
    }

    /// <summary>Runs <paramref name="work"/> holding the cloud's lock in this process, then its lease across processes.</summary>
    private async Task<T?> ExclusiveAsync<T>(string cloudId, bool wait, Func<Task<T?>> work, CancellationToken cancellationToken)
    {
        var gate = _cloudLocks.GetOrAdd(cloudId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            await using var lease = await leases.AcquireAsync(cloudId, wait, cancellationToken);
            return lease is null ? default : await work();
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>In the write transaction: nothing is written unless this process still holds the cloud's lease.</summary>
    private async Task ConfirmLeaseAsync(ImprintDb db, string cloudId, CancellationToken cancellationToken)
    {
        if (!await leases.ConfirmAsync(db, cloudId, cancellationToken))
            throw new InvalidOperationException($"the rematch lease of cloud {cloudId} ran out and another process took it: nothing was written");
    }

    /// <summary>Recomputes every cloud of the account that a matcher of this kind or a setting could apply to.</summary>
    public async Task RecomputeKindAsync(string accountId, string kind, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var clouds = await db.Clouds.Where(c => c.AccountId == accountId && c.Kind == kind).Select(c => c.Id).ToListAsync(cancellationToken);
        await RecomputeAsync(accountId, clouds, cancellationToken);
    }

    private async Task<RematchReport?> RematchLockedAsync(string accountId, string cloudId, CancellationToken cancellationToken)
    {
        var startedAt = time.GetUtcNow();
        var clock = Stopwatch.StartNew();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var cloud = await db.Clouds.AsNoTracking().SingleOrDefaultAsync(c => c.Id == cloudId && c.AccountId == accountId, cancellationToken);
        if (cloud is null)
            return null;
        // Loaded once for the connector (which content digests are wanted) and the matching; a matcher added meanwhile
        // recomputes this cloud itself, after this rematch releases the cloud.
        var matchers = await MatchersOfAsync(db, cloud, cancellationToken);
        // The stored inventory loads while the connector asks the cloud; the context is not used again until it is loaded.
        var loading = LoadInventoryAsync(db, cloudId, cancellationToken);

        SyncResult sync;
        if (!_connectors.TryGetValue(cloud.Kind, out var connector))
        {
            // Public clouds of kinds Imprint cannot list yet rely on hand-written settings: nothing to sync.
            sync = SyncResult.Ok((await loading).Previous, cloud.SyncState);
        }
        else
        {
            try
            {
                var endpoint = new CloudEndpoint(cloud.Id, cloud.Name, cloud.Endpoint, cloud.Region, UnprotectCredentials(cloud), cloud.SyncState,
                    WantedContentOf(matchers));
                sync = await connector.SyncAsync(endpoint, PreviousOf(loading), cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                sync = SyncResult.Failed(e is OperationCanceledException ? "the cloud did not answer in time" : e.Message);
            }
        }
        // A failure to read the stored inventory is ours, not the cloud's: it ends the rematch here, before any write.
        var (stored, previous) = await loading;

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await ConfirmLeaseAsync(db, cloudId, cancellationToken);
        var tracked = await db.Clouds.SingleAsync(c => c.Id == cloudId, cancellationToken);
        tracked.LastSyncAttemptAt = startedAt;
        tracked.NextSyncAt = startedAt + Jittered(tracked.SyncInterval);
        InventoryChanges inventory;
        List<MatchImage> matchImages;
        if (sync.Success)
        {
            inventory = await ReplaceInventoryAsync(db, tracked, stored, previous, sync.Images!, cancellationToken);
            tracked.LastSyncError = null;
            tracked.LastSyncSucceededAt = startedAt;
            tracked.SyncState = sync.SyncState;
            matchImages = sync.Images!.Select(InventoryMapping.ToMatchImage).ToList();
        }
        else
        {
            inventory = new InventoryChanges(stored.Count, 0, 0, 0);
            tracked.LastSyncError = sync.Error;
            matchImages = stored.Select(InventoryMapping.ToMatchImage).ToList();
        }
        var (settings, matches) = await ApplyMatchesAsync(db, tracked, matchers, matchImages, cancellationToken);
        db.Audit.Add(new AuditEntry
        {
            AccountId = accountId,
            Action = "cloud.rematch",
            ResourceId = cloudId,
            Details = JsonSerializer.Serialize(new { status = sync.Success ? "ok" : "failed", sync.Error, inventory.Added, inventory.Removed, inventory.Changed }),
            At = startedAt,
        });
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        var report = new RematchReport(cloudId, sync.Success ? "ok" : "failed", inventory, settings, matches, sync.Error, startedAt, time.GetUtcNow(), sync.Content);
        if (sync.Success)
        {
            Log.RematchDone(logger, cloudId, cloud.Name, report.Status, inventory.Images, inventory.Added, inventory.Removed, inventory.Changed,
                settings.Created.Count, settings.Updated.Count, settings.Destroyed.Count, clock.ElapsedMilliseconds);
        }
        else
        {
            Log.RematchFailed(logger, cloudId, cloud.Name, sync.Error!);
        }
        return report;
    }

    private static async Task<(List<Image> Stored, IReadOnlyList<InventoryImage> Previous)> LoadInventoryAsync(ImprintDb db, string cloudId,
        CancellationToken cancellationToken)
    {
        var stored = await db.Images.Where(i => i.CloudId == cloudId).AsNoTracking().ToListAsync(cancellationToken);
        return (stored, stored.Select(InventoryMapping.ToInventoryImage).ToList());
    }

    private static async Task<IReadOnlyList<InventoryImage>> PreviousOf(Task<(List<Image> Stored, IReadOnlyList<InventoryImage> Previous)> loading) =>
        (await loading).Previous;

    /// <summary>The account's matchers that apply to clouds of this cloud's kind.</summary>
    private static Task<List<Matcher>> MatchersOfAsync(ImprintDb db, Cloud cloud, CancellationToken cancellationToken) =>
        db.Matchers.AsNoTracking().Where(m => m.AccountId == cloud.AccountId && m.CloudKind == cloud.Kind).ToListAsync(cancellationToken);

    private static WantedContent WantedContentOf(List<Matcher> matchers) =>
        new(matchers.SelectMany(m => InventoryMapping.ParseDigests(m.Fingerprint)
            .Where(d => d.Algorithm == DigestAlgorithm.DiskSha256)
            .Select(d => (d, m.VirtualSize))));

    private TimeSpan Jittered(TimeSpan interval) =>
        interval + TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * interval.TotalMilliseconds * 0.1);

    private string? UnprotectCredentials(Cloud cloud) =>
        cloud.ProtectedCredentials is null ? null : dataProtection.CreateProtector(CredentialsPurpose).Unprotect(cloud.ProtectedCredentials);

    /// <summary>
    /// Applies the new inventory as a diff against the stored one, in the caller's transaction: unchanged rows are not
    /// written, changed ones are updated through the context, new and vanished ones are inserted and deleted in bulk.
    /// </summary>
    private static async Task<InventoryChanges> ReplaceInventoryAsync(ImprintDb db, Cloud cloud, List<Image> stored, IReadOnlyList<InventoryImage> previous,
        IReadOnlyList<InventoryImage> reported, CancellationToken cancellationToken)
    {
        var byUid = stored.ToDictionary(i => i.Uid, StringComparer.Ordinal);
        // Connectors hand back the previous inventory's own objects for what did not change: nothing to compare.
        var unchanged = new HashSet<InventoryImage>(previous, ReferenceEqualityComparer.Instance);
        var changed = 0;
        var added = new List<Image>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var image in reported)
        {
            if (!seen.Add(image.Uid))
                continue;
            if (byUid.TryGetValue(image.Uid, out var row))
            {
                if (!unchanged.Contains(image) && InventoryMapping.CopyTo(image, row))
                {
                    db.Images.Update(row);
                    changed++;
                }
                continue;
            }
            var created = new Image { AccountId = cloud.AccountId, CloudId = cloud.Id, Uid = image.Uid, Name = image.Name };
            InventoryMapping.CopyTo(image, created);
            added.Add(created);
        }
        var removed = stored.Where(row => !seen.Contains(row.Uid)).Select(row => row.Id).ToList();
        foreach (var chunk in removed.Chunk(1000))
            await db.Images.Where(i => i.CloudId == cloud.Id && chunk.Contains(i.Id)).ExecuteDeleteAsync(cancellationToken);
        await db.InsertAsync(added, cancellationToken);
        return new InventoryChanges(seen.Count, added.Count, removed.Count, changed);
    }

    /// <summary>Recomputes the cloud's matches and applies the diff of generated settings and stored matches.</summary>
    private async Task<(SettingChanges, MatchChanges)> ApplyMatchesAsync(ImprintDb db, Cloud cloud, List<Matcher> matchers, List<MatchImage> images,
        CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var settings = await db.Settings.Where(s => s.CloudId == cloud.Id).ToListAsync(cancellationToken);
        var handWritten = settings.Where(s => s.GeneratedBy is null).Select(s => new MatchSetting(s.MciId, s.CloudId, s.ImageUid)).ToList();
        var matchCloud = new MatchCloud(cloud.Id, cloud.Name, cloud.Kind, cloud.IsPublic, cloud.AdminContact, cloud.LastSyncError, CanList(cloud.Kind));
        var matcherViews = matchers
            .Select(m => new MatchMatcher(m.Id, m.MciId, m.CloudKind, Fingerprint.Parse(m.Fingerprint.Split(' ')).GetValueOrThrow(), m.ImageName))
            .ToList();
        var results = ImageMatcher.Compute([new MatchInventory(matchCloud, images)], handWritten, matcherViews).ResolveCloud(cloud.Id).ToList();

        var settingChanges = cloud.IsUnreachable
            ? SettingChanges.None // The cloud's images are unknown: keep what was generated from the last good inventory.
            : ApplyGeneratedSettings(db, cloud, settings, results, matchers, now);

        var records = await db.Matches.Where(m => m.CloudId == cloud.Id).ToDictionaryAsync(m => m.MciId, StringComparer.Ordinal, cancellationToken);
        var changes = new List<MatchChange>();
        foreach (var result in results)
        {
            var status = result.Status.ToApi();
            var candidates = JsonSerializer.Serialize(result.Candidates.Select(c => new StoredCandidate(c.Uid, c.Name, c.Evidence.ToApi(), c.Chosen)));
            if (!records.Remove(result.MciId, out var record))
            {
                record = new MatchRecord { AccountId = cloud.AccountId, MciId = result.MciId, CloudId = cloud.Id, Status = status };
                db.Matches.Add(record);
                changes.Add(new MatchChange(result.MciId, cloud.Id, null, status, null, result.Image?.Uid));
            }
            else if (record.Status != status || record.ImageUid != result.Image?.Uid)
            {
                changes.Add(new MatchChange(result.MciId, cloud.Id, record.Status, status, record.ImageUid, result.Image?.Uid));
            }
            // An unchanged record is not written: a rematch that finds what the last one found costs no row per MCI.
            // (When the cloud was last asked is the cloud's; the map shows the later of the two.)
            if (record.Status == status && record.ImageUid == result.Image?.Uid && record.ImageName == result.Image?.Name
                && record.Candidates == candidates && record.Rule == result.Rule && record.Reason == result.Reason
                && record.MatcherId == result.MatcherId && db.Entry(record).State != EntityState.Added)
                continue;
            record.Status = status;
            record.ImageUid = result.Image?.Uid;
            record.ImageName = result.Image?.Name;
            record.Candidates = candidates;
            record.Rule = result.Rule;
            record.Reason = result.Reason;
            record.MatcherId = result.MatcherId;
            record.ChangedAt = now;
        }
        foreach (var gone in records.Values)
        {
            db.Matches.Remove(gone);
            changes.Add(new MatchChange(gone.MciId, cloud.Id, gone.Status, null, gone.ImageUid, null));
        }
        return (settingChanges, new MatchChanges(changes));
    }

    private SettingChanges ApplyGeneratedSettings(ImprintDb db, Cloud cloud, List<Setting> settings, List<MatchResult> results, List<Matcher> matchers, DateTimeOffset now)
    {
        var generated = settings.Where(s => s.GeneratedBy is not null).ToDictionary(s => s.MciId, StringComparer.Ordinal);
        var userData = matchers.ToDictionary(m => m.Id, m => m.UserData, StringComparer.Ordinal);
        List<SettingChange> created = [], updated = [], destroyed = [];
        foreach (var result in results)
        {
            var wanted = result.MatcherId is not null && result.Image is not null && result.Status is MatchStatus.Matched or MatchStatus.Ambiguous
                ? result.Image.Uid
                : null;
            generated.Remove(result.MciId, out var existing);
            if (wanted is null)
            {
                if (existing is not null)
                {
                    db.Settings.Remove(existing);
                    destroyed.Add(new SettingChange(existing.Id, existing.MciId, cloud.Id, existing.ImageUid, null, existing.GeneratedBy));
                }
                continue;
            }
            if (existing is null)
            {
                var setting = new Setting
                {
                    Id = Ids.New("set", time),
                    AccountId = cloud.AccountId,
                    MciId = result.MciId,
                    CloudId = cloud.Id,
                    ImageUid = wanted,
                    GeneratedBy = result.MatcherId,
                    UserData = userData.GetValueOrDefault(result.MatcherId!),
                    CreatedAt = now,
                    UpdatedAt = now,
                };
                db.Settings.Add(setting);
                created.Add(new SettingChange(setting.Id, setting.MciId, cloud.Id, wanted, null, setting.GeneratedBy));
            }
            else if (existing.ImageUid != wanted || existing.GeneratedBy != result.MatcherId)
            {
                var previous = existing.ImageUid;
                existing.ImageUid = wanted;
                existing.GeneratedBy = result.MatcherId;
                existing.UpdatedAt = now;
                updated.Add(new SettingChange(existing.Id, existing.MciId, cloud.Id, wanted, previous, existing.GeneratedBy));
            }
        }
        // Generated settings whose matcher no longer applies here.
        foreach (var orphan in generated.Values)
        {
            db.Settings.Remove(orphan);
            destroyed.Add(new SettingChange(orphan.Id, orphan.MciId, cloud.Id, orphan.ImageUid, null, orphan.GeneratedBy));
        }
        return new SettingChanges(created, updated, destroyed);
    }
}

/// <summary>A candidate as stored with a match record.</summary>
internal sealed record StoredCandidate(string Uid, string Name, string Evidence, bool Chosen);

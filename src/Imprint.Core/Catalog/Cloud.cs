namespace Imprint.Core.Catalog;

/// <summary>One registered endpoint and region of an account, with the state of its last sync.</summary>
public sealed class Cloud
{
    public required string Id { get; set; }
    public required string AccountId { get; set; }
    public required string Name { get; set; }
    /// <summary>One of <see cref="CloudKinds.All"/>.</summary>
    public required string Kind { get; set; }
    /// <summary>The API URL; for a <c>folder</c> cloud, a directory path.</summary>
    public required string Endpoint { get; set; }
    public string? Region { get; set; }
    public bool IsPublic { get; set; }
    public string? AdminContact { get; set; }
    /// <summary>Encrypted credentials; never shown back.</summary>
    public string? ProtectedCredentials { get; set; }
    public TimeSpan SyncInterval { get; set; } = TimeSpan.FromMinutes(15);
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>When the last sync attempt started; null before the first.</summary>
    public DateTimeOffset? LastSyncAttemptAt { get; set; }
    /// <summary>When the inventory was last replaced by a successful sync.</summary>
    public DateTimeOffset? LastSyncSucceededAt { get; set; }
    /// <summary>Why the last sync failed; null when it succeeded.</summary>
    public string? LastSyncError { get; set; }
    /// <summary>Connector-specific state kept between syncs (e.g. an incremental watermark), JSON.</summary>
    public string? SyncState { get; set; }
    /// <summary>When the scheduler should rematch the cloud next.</summary>
    public DateTimeOffset? NextSyncAt { get; set; }
    /// <summary>The <c>imprint serve</c> process rematching the cloud now, if any (one at a time across processes).</summary>
    public string? RematchLeaseOwner { get; set; }
    /// <summary>When that process's lease runs out unless it renews it.</summary>
    public DateTimeOffset? RematchLeaseUntil { get; set; }

    /// <summary>True when the last attempt to reach the cloud failed: its matches are stale.</summary>
    public bool IsUnreachable => LastSyncError is not null;
}

/// <summary>Cloud kinds Imprint knows.</summary>
public static class CloudKinds
{
    public const string Folder = "folder";
    public const string OpenStack = "openstack";
    public const string Ec2 = "ec2";
    public const string CloudStack = "cloudstack";
    public const string VSphere = "vsphere";

    /// <summary>Every kind a cloud may be registered with.</summary>
    public static IReadOnlyList<string> All { get; } = [Folder, OpenStack, Ec2, CloudStack, VSphere];
}

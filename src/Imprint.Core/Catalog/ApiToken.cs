namespace Imprint.Core.Catalog;

/// <summary>An API token: one role in one account. Only a hash of the secret is kept.</summary>
public sealed class ApiToken
{
    public required string Id { get; set; }
    public required string AccountId { get; set; }
    public required string Name { get; set; }
    public required string Role { get; set; }
    /// <summary>SHA-256 of the secret, hex.</summary>
    public required string SecretHash { get; set; }
    /// <summary>True for the token made at first start: it may manage accounts.</summary>
    public bool IsInstallationAdmin { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>The roles of API.md.</summary>
public static class Roles
{
    public const string Viewer = "viewer";
    public const string Designer = "designer";
    public const string CloudAdmin = "cloud-admin";
    public const string Publisher = "publisher";
    public const string Admin = "admin";

    /// <summary>Every role.</summary>
    public static IReadOnlyList<string> All { get; } = [Viewer, Designer, CloudAdmin, Publisher, Admin];
}

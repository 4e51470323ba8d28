using Imprint.Core.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Imprint.Storage;

/// <summary>
/// Imprint's store: the DbContext is both repository and unit of work. Every account-owned set is filtered by
/// <see cref="AccountScope"/>, so that a query cannot forget whose rows it reads.
/// </summary>
public sealed class ImprintDb(DbContextOptions<ImprintDb> options) : DbContext(options)
{
    /// <summary>The account whose rows queries see; null (background work, installation admin) sees every account.</summary>
    public string? AccountScope { get; set; }

    public DbSet<Account> Accounts => Set<Account>();
    public DbSet<ApiToken> Tokens => Set<ApiToken>();
    public DbSet<Cloud> Clouds => Set<Cloud>();
    public DbSet<Image> Images => Set<Image>();
    public DbSet<MultiCloudImage> MultiCloudImages => Set<MultiCloudImage>();
    public DbSet<Setting> Settings => Set<Setting>();
    public DbSet<Matcher> Matchers => Set<Matcher>();
    public DbSet<ServerTemplate> ServerTemplates => Set<ServerTemplate>();
    public DbSet<ServerTemplateMci> ServerTemplateMcis => Set<ServerTemplateMci>();
    public DbSet<MatchRecord> Matches => Set<MatchRecord>();
    public DbSet<Server> Servers => Set<Server>();
    public DbSet<AuditEntry> Audit => Set<AuditEntry>();
    /// <summary>The Marketplace: deliberately not filtered by account, every account lists and imports publications.</summary>
    public DbSet<Publication> Publications => Set<Publication>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // Stored as UTC ticks so that both SQLite and PostgreSQL order and compare them natively.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
        configurationBuilder.Properties<TimeSpan>().HaveConversion<TimeSpanToTicksConverter>();
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Account>(e =>
        {
            e.HasKey(x => x.Id);
            e.HasIndex(x => x.Name).IsUnique();
        });
        modelBuilder.Entity<ApiToken>(e =>
        {
            e.HasKey(x => x.Id);
            e.HasIndex(x => x.SecretHash).IsUnique();
            e.HasIndex(x => x.AccountId);
            e.HasQueryFilter(x => AccountScope == null || x.AccountId == AccountScope);
        });
        modelBuilder.Entity<Cloud>(e =>
        {
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.AccountId, x.Name }).IsUnique();
            e.Ignore(x => x.IsUnreachable);
            e.HasQueryFilter(x => AccountScope == null || x.AccountId == AccountScope);
        });
        modelBuilder.Entity<Image>(e =>
        {
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.CloudId, x.Uid }).IsUnique();
            e.HasIndex(x => new { x.CloudId, x.Name });
            e.HasQueryFilter(x => AccountScope == null || x.AccountId == AccountScope);
        });
        modelBuilder.Entity<MultiCloudImage>(e =>
        {
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.AccountId, x.Lineage, x.Revision }).IsUnique();
            e.Ignore(x => x.IsHead);
            e.HasQueryFilter(x => AccountScope == null || x.AccountId == AccountScope);
        });
        modelBuilder.Entity<Setting>(e =>
        {
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.MciId, x.CloudId }).IsUnique();
            e.HasIndex(x => x.CloudId);
            e.HasQueryFilter(x => AccountScope == null || x.AccountId == AccountScope);
        });
        modelBuilder.Entity<Matcher>(e =>
        {
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.MciId, x.CloudKind }).IsUnique();
            e.HasIndex(x => new { x.AccountId, x.CloudKind });
            e.HasQueryFilter(x => AccountScope == null || x.AccountId == AccountScope);
        });
        modelBuilder.Entity<ServerTemplate>(e =>
        {
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.AccountId, x.Lineage, x.Revision }).IsUnique();
            e.Ignore(x => x.IsHead);
            e.HasQueryFilter(x => AccountScope == null || x.AccountId == AccountScope);
        });
        modelBuilder.Entity<ServerTemplateMci>(e =>
        {
            e.HasKey(x => new { x.ServerTemplateId, x.MciId });
            e.HasIndex(x => x.MciId);
            e.HasQueryFilter(x => AccountScope == null || x.AccountId == AccountScope);
        });
        modelBuilder.Entity<MatchRecord>(e =>
        {
            e.HasKey(x => new { x.MciId, x.CloudId });
            e.HasIndex(x => x.CloudId);
            e.HasQueryFilter(x => AccountScope == null || x.AccountId == AccountScope);
        });
        modelBuilder.Entity<Server>(e =>
        {
            e.HasKey(x => x.Id);
            e.HasIndex(x => x.AccountId);
            e.HasQueryFilter(x => AccountScope == null || x.AccountId == AccountScope);
        });
        modelBuilder.Entity<AuditEntry>(e =>
        {
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.AccountId, x.Id });
            e.HasQueryFilter(x => AccountScope == null || x.AccountId == AccountScope);
        });
        modelBuilder.Entity<Publication>(e =>
        {
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.Lineage, x.Revision });
            e.HasIndex(x => x.AccountId);
        });
    }
}

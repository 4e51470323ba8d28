using Imprint.Storage.Postgres;
using Imprint.Storage.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Storage.Tests;

/// <summary>Every model change needs a migration for each database: these fail when one is missing.</summary>
public sealed class MigrationsTests
{
    [Fact]
    public void Sqlite_ModelMatchesMigrations()
    {
        using var db = new SqliteDesignTimeFactory().CreateDbContext([]);

        db.Database.HasPendingModelChanges().ShouldBeFalse("run: dotnet ef migrations add <Name> --project src/Imprint.Storage.Sqlite --startup-project src/Imprint.Storage.Sqlite");
        db.Database.GetMigrations().ShouldNotBeEmpty();
    }

    [Fact]
    public void Postgres_ModelMatchesMigrations()
    {
        using var db = new PostgresDesignTimeFactory().CreateDbContext([]);

        db.Database.HasPendingModelChanges().ShouldBeFalse("run: dotnet ef migrations add <Name> --project src/Imprint.Storage.Postgres --startup-project src/Imprint.Storage.Postgres");
        db.Database.GetMigrations().ShouldNotBeEmpty();
    }

    [Fact]
    public async Task Sqlite_MigratesEmptyFile_AndScopesQueriesByAccount()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory().FullName, "test.db");
        await using var db = new ImprintDb((DbContextOptions<ImprintDb>)SqliteStorage.Configure(new DbContextOptionsBuilder<ImprintDb>(), path).Options);
        var ct = TestContext.Current.CancellationToken;
        await db.Database.MigrateAsync(ct);
        db.MultiCloudImages.AddRange(
            new Core.Catalog.MultiCloudImage { Id = "mci_a", AccountId = "acc_a", Lineage = "l1", Name = "a" },
            new Core.Catalog.MultiCloudImage { Id = "mci_b", AccountId = "acc_b", Lineage = "l2", Name = "b" });
        await db.SaveChangesAsync(ct);

        db.AccountScope = "acc_a";
        (await db.MultiCloudImages.Select(m => m.Id).ToListAsync(ct)).ShouldBe(["mci_a"]);
        db.AccountScope = null;
        (await db.MultiCloudImages.CountAsync(ct)).ShouldBe(2);
    }
}

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Imprint.Storage.Sqlite;

/// <summary>The embedded SQLite store: its provider settings and its migrations (this assembly).</summary>
public static class SqliteStorage
{
    /// <summary>Configures <paramref name="options"/> for a SQLite database file.</summary>
    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder options, string path) =>
        options.UseSqlite($"Data Source={path};Cache=Shared;Pooling=True;Default Timeout=30",
            sqlite => sqlite.MigrationsAssembly(typeof(SqliteStorage).Assembly.GetName().Name));
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the model for SQLite.</summary>
public sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<ImprintDb>
{
    public ImprintDb CreateDbContext(string[] args) =>
        new(SqliteStorage.Configure(new DbContextOptionsBuilder<ImprintDb>(), "design.db").Options as DbContextOptions<ImprintDb>
            ?? throw new InvalidOperationException("unexpected options type"));
}

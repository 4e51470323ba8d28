using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Imprint.Storage.Postgres;

/// <summary>The shared PostgreSQL store: its provider settings and its migrations (this assembly).</summary>
public static class PostgresStorage
{
    /// <summary>Configures <paramref name="options"/> for a PostgreSQL connection string.</summary>
    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder options, string connectionString) =>
        options.UseNpgsql(connectionString,
            npgsql => npgsql.MigrationsAssembly(typeof(PostgresStorage).Assembly.GetName().Name));
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the model for PostgreSQL.</summary>
public sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<ImprintDb>
{
    public ImprintDb CreateDbContext(string[] args) =>
        new(PostgresStorage.Configure(new DbContextOptionsBuilder<ImprintDb>(), "Host=localhost;Database=imprint").Options as DbContextOptions<ImprintDb>
            ?? throw new InvalidOperationException("unexpected options type"));
}

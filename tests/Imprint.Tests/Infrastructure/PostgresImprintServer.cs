using Imprint.Storage;
using Npgsql;

namespace Imprint.Tests.Infrastructure;

/// <summary>
/// `imprint serve` on the real PostgreSQL that .ci/setup.d/10-postgres.sh starts, in a database of its own.
/// Fails (never skips) when PostgreSQL is not running.
/// </summary>
public sealed class PostgresImprintServer : ImprintServer
{
    private const string EnvFile = "/tmp/imprint-ci/postgres.env";
    private string? _database;

    /// <summary>The database this server made for itself (another server can share it).</summary>
    public DatabaseLocation? Database { get; private set; }

    public static string AdminConnectionString()
    {
        if (!File.Exists(EnvFile))
            throw new InvalidOperationException($"PostgreSQL is not running ({EnvFile} is missing): run .ci/setup.d/10-postgres.sh");
        var line = File.ReadAllLines(EnvFile).Single(l => l.StartsWith("PG_CONN=", StringComparison.Ordinal));
        return line["PG_CONN=".Length..];
    }

    protected override async Task<DatabaseLocation?> CreateDatabaseAsync()
    {
        (Database, _database) = await CreateEmptyDatabaseAsync();
        return Database;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_database is not null)
            await DropDatabaseAsync(_database);
    }

    /// <summary>A new, empty database of its own on the CI PostgreSQL, and its name.</summary>
    public static async Task<(DatabaseLocation Location, string Name)> CreateEmptyDatabaseAsync()
    {
        var admin = AdminConnectionString();
        var name = "imprint_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await create.ExecuteNonQueryAsync();
        }
        var builder = new NpgsqlConnectionStringBuilder(admin) { Database = name };
        return (new DatabaseLocation(DatabaseLocation.Postgres, builder.ConnectionString), name);
    }

    public static async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(AdminConnectionString());
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}

/// <summary>`imprint serve` on a database another server (or the test) made: several servers sharing one database.</summary>
public sealed class SharedDatabaseServer(DatabaseLocation database) : ImprintServer
{
    protected override Task<DatabaseLocation?> CreateDatabaseAsync() => Task.FromResult<DatabaseLocation?>(database);
}

using Imprint.Storage;
using Imprint.Tests.Infrastructure;
using Npgsql;

namespace Imprint.Tests.Hosting;

/// <summary>Several `imprint serve` started together on one empty PostgreSQL database.</summary>
public sealed class FirstStartTests
{
    [Fact]
    public async Task TwoServersStartTogetherOnAnEmptyDatabase_BothServe_OneAdminToken()
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var database = await CreateEmptyDatabaseAsync();
            var servers = new[] { new OnDatabase(database.Location), new OnDatabase(database.Location) };
            try
            {
                await Task.WhenAll(servers.Select(s => s.InitializeAsync().AsTask()));

                servers.Count(s => s.AdminToken.Length > 0).ShouldBe(1);
                var token = servers.Single(s => s.AdminToken.Length > 0).AdminToken;
                foreach (var server in servers)
                {
                    using var api = new ApiClient(server.BaseAddress, token);
                    (await api.GetAsync("/api/clouds")).ShouldHaveStatus(200);
                }
            }
            finally
            {
                foreach (var server in servers)
                    await server.DisposeAsync();
                await database.DropAsync();
            }
        }
    }

    private static async Task<(DatabaseLocation Location, Func<Task> DropAsync)> CreateEmptyDatabaseAsync()
    {
        var admin = PostgresImprintServer.AdminConnectionString();
        var name = "imprint_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await create.ExecuteNonQueryAsync();
        }
        return (new DatabaseLocation(DatabaseLocation.Postgres, new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString), async () =>
        {
            NpgsqlConnection.ClearAllPools();
            await using var connection = new NpgsqlConnection(admin);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        });
    }

    private sealed class OnDatabase(DatabaseLocation database) : ImprintServer
    {
        protected override Task<DatabaseLocation?> CreateDatabaseAsync() => Task.FromResult<DatabaseLocation?>(database);
    }
}

using Imprint.Tests.Infrastructure;

namespace Imprint.Tests.Hosting;

/// <summary>Several `imprint serve` started together on one empty PostgreSQL database.</summary>
public sealed class FirstStartTests
{
    [Fact]
    public async Task TwoServersStartTogetherOnAnEmptyDatabase_BothServe_OneAdminToken()
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var (database, name) = await PostgresImprintServer.CreateEmptyDatabaseAsync();
            var servers = new[] { new SharedDatabaseServer(database), new SharedDatabaseServer(database) };
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
                await PostgresImprintServer.DropDatabaseAsync(name);
            }
        }
    }
}

namespace Imprint.Tests.Infrastructure;

/// <summary>Accounts and tokens made through the API by the installation admin.</summary>
public static class AccountSteps
{
    /// <summary>A new account; returns its id.</summary>
    public static async Task<string> CreateAccountAsync(this ImprintServer server, string? name = null)
    {
        using var admin = server.Client();
        var reply = await admin.PostAsync("/api/accounts", new { name = name ?? "acct-" + Guid.NewGuid().ToString("N")[..8] });
        return reply.ShouldHaveStatus(201)["id"];
    }

    /// <summary>A new token of <paramref name="role"/> in the account; returns its secret.</summary>
    public static async Task<string> CreateTokenAsync(this ImprintServer server, string accountId, string role)
    {
        using var admin = server.Client();
        var reply = await admin.PostAsync($"/api/accounts/{accountId}/tokens", new { name = role + "-token", role });
        return reply.ShouldHaveStatus(201)["token"];
    }

    /// <summary>An account with one token per role.</summary>
    public static async Task<TestAccount> CreateAccountWithRolesAsync(this ImprintServer server)
    {
        var id = await server.CreateAccountAsync();
        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var role in new[] { "viewer", "designer", "cloud-admin", "publisher", "admin" })
            tokens[role] = await server.CreateTokenAsync(id, role);
        return new TestAccount(server, id, tokens);
    }
}

/// <summary>An account made for one test and a token for each of its roles.</summary>
public sealed record TestAccount(ImprintServer Server, string Id, IReadOnlyDictionary<string, string> Tokens)
{
    public ApiClient As(string role) => Server.Client(Tokens[role]);
}

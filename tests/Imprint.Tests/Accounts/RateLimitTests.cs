using Imprint.Tests.Infrastructure;

namespace Imprint.Tests.Accounts;

/// <summary>Failed token attempts are limited per client: a guesser gets 429 problem details, even with a good token.</summary>
public sealed class RateLimitTests : IAsyncLifetime
{
    private readonly ImprintServer _server = new() { ConfigureOptions = o => o with { FailedTokenAttemptsPerMinute = 3 } };

    public ValueTask InitializeAsync() => _server.InitializeAsync();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task FailedTokenAttempts_OverTheLimit_429ProblemWithRetryAfter()
    {
        using var good = _server.Client();
        // Good tokens are not counted: many requests with one stay 200.
        for (var i = 0; i < 10; i++)
            (await good.GetAsync("/api/clouds")).ShouldHaveStatus(200);

        using var guesser = _server.Client("imp_guess");
        for (var i = 0; i < 3; i++)
            (await guesser.GetAsync("/api/clouds")).ShouldHaveStatus(401);
        var limited = await guesser.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/clouds"));

        limited.ShouldHaveStatus(429);
        limited.MediaType.ShouldBe("application/problem+json");
        limited["type"].ShouldEndWith("/too-many-requests");
        using var response = await good.Http.GetAsync("/api/clouds", TestContext.Current.CancellationToken);
        ((int)response.StatusCode).ShouldBe(429);
        response.Headers.RetryAfter.ShouldNotBeNull();
    }
}

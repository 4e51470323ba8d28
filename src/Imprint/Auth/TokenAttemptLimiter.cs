using System.Threading.RateLimiting;
using Imprint.Hosting;

namespace Imprint.Auth;

/// <summary>
/// Limits failed token attempts per client IP with the rate limiters ASP.NET Core's rate limiting is built on.
/// Failures, not requests, are counted: a busy script with a good token is never throttled, while someone guessing
/// tokens (or hammering the database with lookups) is answered 429 for the rest of the window, good token or not.
/// </summary>
internal sealed class TokenAttemptLimiter(ServeOptions options) : IDisposable
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly PartitionedRateLimiter<string> _failures = PartitionedRateLimiter.Create<string, string>(client =>
        RateLimitPartition.GetFixedWindowLimiter(client, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = options.FailedTokenAttemptsPerMinute,
            Window = Window,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

    public static string ClientOf(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    /// <summary>True when the client has used up its failed attempts of this window.</summary>
    public bool IsBlocked(string client) => _failures.GetStatistics(client)?.CurrentAvailablePermits <= 0;

    public void RecordFailure(string client)
    {
        using var lease = _failures.AttemptAcquire(client);
    }

    public void Dispose() => _failures.Dispose();
}

using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Imprint.Clouds.OpenStack;

/// <summary>A Keystone v3 token and the image endpoint its catalog names.</summary>
internal sealed record KeystoneToken(string Value, DateTimeOffset ExpiresAt, string ImageUrl)
{
    // The token is a secret: keep it out of any log line or message built from this record.
    public override string ToString() => $"KeystoneToken {{ ExpiresAt = {ExpiresAt:O}, ImageUrl = {ImageUrl} }}";
}

/// <summary>
/// Issues Keystone v3 tokens (password or application credential) and caches one per cloud and credentials, renewing it
/// shortly before it expires; a token Glance refused is dropped with <see cref="Invalidate"/>.
/// </summary>
internal sealed class KeystoneAuthenticator(IHttpClientFactory httpFactory, IOptions<OpenStackOptions> options, TimeProvider time, ILogger<KeystoneAuthenticator> logger)
{
    private const string Peer = "Keystone";
    private readonly ConcurrentDictionary<string, KeystoneToken> _tokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new(StringComparer.Ordinal);

    /// <summary>The number of tokens issued so far (tests check renewal with it).</summary>
    public int TokensIssued => _issued;

    private int _issued;

    public async Task<KeystoneToken> GetTokenAsync(CloudEndpoint cloud, string rawCredentials, OpenStackCredentials credentials, CancellationToken cancellationToken)
    {
        var key = CacheKey(cloud, rawCredentials);
        if (_tokens.TryGetValue(key, out var cached) && IsFresh(cached))
            return cached;
        var gate = _gates.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (_tokens.TryGetValue(key, out cached) && IsFresh(cached))
                return cached;
            var token = await IssueAsync(cloud, credentials, cancellationToken);
            _tokens[key] = token;
            return token;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Forgets a token that Glance refused, so that the next call issues a new one.</summary>
    public void Invalidate(CloudEndpoint cloud, string rawCredentials, KeystoneToken token)
    {
        var key = CacheKey(cloud, rawCredentials);
        _tokens.TryRemove(new KeyValuePair<string, KeystoneToken>(key, token));
    }

    public bool IsFresh(KeystoneToken token) => time.GetUtcNow() < token.ExpiresAt - options.Value.TokenRenewBefore;

    // The cache is keyed by a hash, so that no credential is kept as a dictionary key in memory longer than needed.
    private static string CacheKey(CloudEndpoint cloud, string rawCredentials) =>
        cloud.Id + "|" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{cloud.Endpoint}\n{cloud.Region}\n{rawCredentials}")));

    private async Task<KeystoneToken> IssueAsync(CloudEndpoint cloud, OpenStackCredentials credentials, CancellationToken cancellationToken)
    {
        var authUrl = (credentials.AuthUrl ?? cloud.Endpoint).TrimEnd('/');
        if (!authUrl.EndsWith("/v3", StringComparison.Ordinal))
            authUrl += "/v3";
        if (!Uri.TryCreate(authUrl, UriKind.Absolute, out var authUri) || authUri.Scheme is not ("http" or "https"))
            throw new OpenStackFault("the Keystone URL (credentials authUrl, else the cloud's endpoint) is not an http(s) URL");

        var http = httpFactory.CreateClient(OpenStackHttp.ApiClient);
        using var request = new HttpRequestMessage(HttpMethod.Post, authUrl + "/auth/tokens") 
        {
            // A string body has a Content-Length: Keystone behind a plain WSGI server cannot read a chunked body.
            Content = new StringContent(JsonSerializer.Serialize(credentials.TokenRequest()), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("application/json");
        // One token an hour: a fresh connection costs nothing, and a pooled one that a single-threaded Keystone
        // (keystone-wsgi-public) already closed would fail this request.
        request.Headers.ConnectionClose = true;
        // Asking twice for a token only makes two tokens: a dropped connection or a 5xx is retried like a GET.
        OpenStackHttp.MarkRepeatable(request);
        using var response = await OpenStackHttp.SendAsync(http, request, HttpCompletionOption.ResponseContentRead, Peer, options.Value.RequestTimeout, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw await OpenStackHttp.DescribeAsync(response, Peer, cancellationToken);
        var value = response.Headers.TryGetValues("X-Subject-Token", out var values) ? values.FirstOrDefault() : null;
        if (string.IsNullOrEmpty(value))
            throw new OpenStackFault($"Keystone at {authUri.Authority} issued no token (no X-Subject-Token header)");
        using var json = await OpenStackHttp.ReadJsonAsync(response, Peer, cancellationToken);
        if (!json.RootElement.TryGetProperty("token", out var body) || body.ValueKind != JsonValueKind.Object)
            throw new OpenStackFault($"Keystone at {authUri.Authority} answered without a token object");
        // The token's lifetime, counted on our clock from now: Keystone's clock may be skewed from ours.
        var issuedAt = Time(body, "issued_at");
        var expiresAt = Time(body, "expires_at") is { } expires
            ? time.GetUtcNow() + (issuedAt is { } issued ? expires - issued : expires - time.GetUtcNow())
            : time.GetUtcNow().AddHours(1);
        var imageUrl = ImageEndpoint(body, credentials.Interface ?? "public", credentials.Region ?? cloud.Region);
        Interlocked.Increment(ref _issued);
        Log.TokenIssued(logger, cloud.Id, expiresAt, imageUrl);
        return new KeystoneToken(value, expiresAt, imageUrl);
    }

    private static string ImageEndpoint(JsonElement token, string endpointInterface, string? region)
    {
        if (token.TryGetProperty("catalog", out var catalog) && catalog.ValueKind == JsonValueKind.Array)
        {
            foreach (var service in catalog.EnumerateArray())
            {
                if (!service.TryGetProperty("type", out var type) || type.GetString() != "image"
                    || !service.TryGetProperty("endpoints", out var endpoints) || endpoints.ValueKind != JsonValueKind.Array)
                    continue;
                foreach (var endpoint in endpoints.EnumerateArray())
                {
                    if (Text(endpoint, "interface") != endpointInterface)
                        continue;
                    if (region is not null && Text(endpoint, "region_id") != region && Text(endpoint, "region") != region)
                        continue;
                    if (Text(endpoint, "url") is { } url)
                        return url;
                }
            }
        }
        throw new OpenStackFault($"the Keystone catalog of these credentials has no image service endpoint (interface {endpointInterface}"
            + (region is null ? ")" : $", region {region})"));
    }

    private static DateTimeOffset? Time(JsonElement element, string name) =>
        Text(element, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value) ? value : null;

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

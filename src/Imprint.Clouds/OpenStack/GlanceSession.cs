using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Imprint.Clouds.OpenStack;

/// <summary>
/// One conversation with one cloud's Glance: resolves the image endpoint (Keystone catalog, or the cloud's endpoint for a
/// noauth Glance), adds the token to each request, and on a 401 renews the token once and repeats the request.
/// </summary>
internal sealed class GlanceSession
{
    public const string Peer = "Glance";

    private readonly HttpClient _api;
    private readonly HttpClient _transfer;
    private readonly CloudEndpoint _cloud;
    private readonly OpenStackCredentials? _credentials;
    private readonly KeystoneAuthenticator _keystone;
    private readonly TimeSpan _requestTimeout;
    private readonly ILogger _logger;
    private KeystoneToken? _token;

    private GlanceSession(HttpClient api, HttpClient transfer, CloudEndpoint cloud, OpenStackCredentials? credentials, KeystoneAuthenticator keystone,
        TimeSpan requestTimeout, ILogger logger, string imageUrl, KeystoneToken? token)
    {
        _api = api;
        _transfer = transfer;
        _cloud = cloud;
        _credentials = credentials;
        _keystone = keystone;
        _requestTimeout = requestTimeout;
        _logger = logger;
        ImageUrl = imageUrl;
        _token = token;
    }

    /// <summary>The Glance base URL, without a trailing slash or version.</summary>
    public string ImageUrl { get; }

    /// <summary>How long one request may wait for its answer, and a download for its next bytes.</summary>
    public TimeSpan RequestTimeout => _requestTimeout;

    /// <summary>Horizon's URL when the credentials name one.</summary>
    public string? DashboardUrl => _credentials?.DashboardUrl?.TrimEnd('/');

    /// <summary>Requests sent to Glance in this session (the benchmark and tests count them).</summary>
    public int Requests { get; private set; }

    public static async Task<GlanceSession> OpenAsync(CloudEndpoint cloud, IHttpClientFactory httpFactory, KeystoneAuthenticator keystone,
        OpenStackOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        OpenStackCredentials? credentials = null;
        if (!string.IsNullOrWhiteSpace(cloud.Credentials))
        {
            var (parsed, error) = OpenStackCredentials.Parse(cloud.Credentials);
            credentials = parsed ?? throw new OpenStackFault(error!);
        }
        KeystoneToken? token = null;
        string imageUrl;
        if (credentials is null)
        {
            imageUrl = cloud.Endpoint;
        }
        else
        {
            token = await keystone.GetTokenAsync(cloud, cloud.Credentials!, credentials, cancellationToken);
            imageUrl = token.ImageUrl;
        }
        return new GlanceSession(httpFactory.CreateClient(OpenStackHttp.ApiClient), httpFactory.CreateClient(OpenStackHttp.TransferClient),
            cloud, credentials, keystone, options.RequestTimeout, logger, NormalizeImageUrl(imageUrl), token);
    }

    /// <summary>The Glance root: catalogs name it with or without <c>/v2</c> and a trailing slash.</summary>
    internal static string NormalizeImageUrl(string url)
    {
        url = url.TrimEnd('/');
        if (url.EndsWith("/v2", StringComparison.Ordinal))
            url = url[..^3];
        else if (url.EndsWith("/v2.0", StringComparison.Ordinal))
            url = url[..^5];
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new OpenStackFault($"the image endpoint '{url}' is not an http(s) URL");
        return url;
    }

    /// <summary>An absolute URL for a path Glance gave (e.g. a <c>next</c> link) or one we build.</summary>
    public string Url(string pathAndQuery) =>
        pathAndQuery.StartsWith("http://", StringComparison.Ordinal) || pathAndQuery.StartsWith("https://", StringComparison.Ordinal)
            ? pathAndQuery
            : ImageUrl + (pathAndQuery.StartsWith('/') ? "" : "/") + pathAndQuery;

    /// <summary>GETs JSON from Glance: an error answer, HTML or invalid JSON is a fault.</summary>
    public async Task<JsonDocument> GetJsonAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, Url(pathAndQuery)), transfer: false,
            HttpCompletionOption.ResponseContentRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw await OpenStackHttp.DescribeAsync(response, Peer, cancellationToken);
        return await OpenStackHttp.ReadJsonAsync(response, Peer, cancellationToken);
    }

    /// <summary>Sends a request built by <paramref name="create"/> (called again for the one repeat after a 401).</summary>
    public async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create, bool transfer, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        var response = await SendOnceAsync(create(), transfer, completion, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Unauthorized || _credentials is null || _token is null)
            return response;
        // A token can be revoked or expire early (clock skew, a Keystone restart with new keys): renew once.
        response.Dispose();
        Log.TokenRejected(_logger, _cloud.Id);
        _keystone.Invalidate(_cloud, _cloud.Credentials!, _token);
        _token = await _keystone.GetTokenAsync(_cloud, _cloud.Credentials!, _credentials, cancellationToken);
        return await SendOnceAsync(create(), transfer, completion, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage request, bool transfer, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        // Glance answers errors with HTML unless asked for JSON.
        request.Headers.Accept.ParseAdd("application/json");
        // A long session (downloads for content fingerprints) outlives a token: renew it before it expires.
        if (_credentials is not null && _token is not null && !_keystone.IsFresh(_token))
            _token = await _keystone.GetTokenAsync(_cloud, _cloud.Credentials!, _credentials, cancellationToken);
        if (_token is not null)
            request.Headers.TryAddWithoutValidation("X-Auth-Token", _token.Value);
        Requests++;
        return await OpenStackHttp.SendAsync(transfer ? _transfer : _api, request, completion, Peer, _requestTimeout, cancellationToken);
    }
}

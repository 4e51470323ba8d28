using System.CommandLine;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Imprint.Hosting;

namespace Imprint.Commands;

/// <summary>
/// What the client commands share: the server (<c>--server</c>, else <c>IMPRINT_SERVER</c>, else the default local URL)
/// and the token (<c>IMPRINT_TOKEN</c>, else the admin token of the local data dir).
/// </summary>
internal sealed class ImprintClient : IDisposable
{
    public static readonly Option<string?> ServerOption = new("--server") { Description = "The Imprint server (default: $IMPRINT_SERVER or http://127.0.0.1:5080)." };

    private readonly HttpClient _http;

    private ImprintClient(HttpClient http) => _http = http;

    /// <summary>Creates a client, or returns null after printing why it cannot (no token).</summary>
    public static async Task<ImprintClient?> CreateAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var server = parse.GetValue(ServerOption) ?? Environment.GetEnvironmentVariable("IMPRINT_SERVER") ?? ServeOptions.DefaultUrl;
        if (!Uri.TryCreate(server, UriKind.Absolute, out var baseAddress))
        {
            await Console.Error.WriteLineAsync($"imprint: --server '{server}' is not a URL");
            return null;
        }
        var token = Environment.GetEnvironmentVariable("IMPRINT_TOKEN");
        var tokenPath = new ServeOptions().AdminTokenPath;
        if (string.IsNullOrEmpty(token) && File.Exists(tokenPath))
            token = (await File.ReadAllTextAsync(tokenPath, cancellationToken)).Trim();
        if (string.IsNullOrEmpty(token))
        {
            await Console.Error.WriteLineAsync($"imprint: no token: set IMPRINT_TOKEN (none in {tokenPath})");
            return null;
        }
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return new ImprintClient(http);
    }

    public HttpClient Http => _http;

    /// <summary>Sends a request; on an error answer prints the problem's detail and returns null.</summary>
    public async Task<JsonNode?> SendAsync(HttpMethod method, string path, CancellationToken cancellationToken, HttpContent? content = null)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(new HttpRequestMessage(method, path) { Content = content }, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            await Console.Error.WriteLineAsync($"imprint: cannot reach {_http.BaseAddress}: {e.Message}");
            return null;
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            JsonNode? json = null;
            try
            {
                json = text.Length > 0 ? JsonNode.Parse(text) : null;
            }
            catch (System.Text.Json.JsonException)
            {
                // Not JSON: reported below with the status.
            }
            if (response.IsSuccessStatusCode)
                return json ?? new JsonObject();
            var detail = json?["detail"]?.ToString() ?? text;
            await Console.Error.WriteLineAsync($"imprint: {(int)response.StatusCode} {response.ReasonPhrase}: {detail}");
            return null;
        }
    }

    /// <summary>The id of the cloud with this id or name, or null after saying there is none.</summary>
    public async Task<string?> ResolveCloudIdAsync(string idOrName, CancellationToken cancellationToken)
    {
        var page = await SendAsync(HttpMethod.Get, "/api/clouds?limit=500", cancellationToken);
        var match = page?["items"]!.AsArray().FirstOrDefault(c => c!["id"]!.ToString() == idOrName || c["name"]!.ToString() == idOrName);
        if (match is null && page is not null)
            await Console.Error.WriteLineAsync($"imprint: no cloud with id or name '{idOrName}'");
        return match?["id"]?.ToString();
    }

    public void Dispose() => _http.Dispose();
}

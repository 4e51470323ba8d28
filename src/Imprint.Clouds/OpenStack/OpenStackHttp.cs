using System.Net;
using System.Text.Json;
using Polly.Timeout;

namespace Imprint.Clouds.OpenStack;

/// <summary>Turns what can go wrong on the wire into one clear sentence (never with a credential or a token in it).</summary>
internal static class OpenStackHttp
{
    /// <summary>The HttpClient for API calls: per-request timeout and retries of safe requests.</summary>
    public const string ApiClient = "Imprint.OpenStack";

    /// <summary>The HttpClient for image bytes: no per-request timeout (a file may take an hour), no retries (an upload is not safe to repeat).</summary>
    public const string TransferClient = "Imprint.OpenStack.Transfer";

    private static readonly HttpRequestOptionsKey<bool> Repeatable = new("Imprint.OpenStack.Repeatable");

    /// <summary>Marks a request that is not a GET as safe to send again when it fails (e.g. asking for a token).</summary>
    public static void MarkRepeatable(HttpRequestMessage request) => request.Options.Set(Repeatable, true);

    /// <summary>True for the requests the API client retries: safe methods, and those marked repeatable.</summary>
    public static bool IsRepeatable(HttpRequestMessage request) =>
        request.Method == HttpMethod.Get || request.Method == HttpMethod.Head || request.Method == HttpMethod.Options
        || (request.Options.TryGetValue(Repeatable, out var repeatable) && repeatable);

    /// <summary>Sends a request, converting a transport failure into an <see cref="OpenStackFault"/>.</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpRequestMessage request, HttpCompletionOption completion,
        string peer, TimeSpan requestTimeout, CancellationToken cancellationToken)
    {
        var target = $"{request.RequestUri!.Scheme}://{request.RequestUri.Authority}";
        try
        {
            return await client.SendAsync(request, completion, cancellationToken);
        }
        catch (HttpRequestException e) when (e.HttpRequestError == HttpRequestError.ConnectionError)
        {
            throw new OpenStackFault($"cannot connect to {peer} at {target}: {e.InnerException?.Message ?? e.Message}", e);
        }
        catch (HttpRequestException e)
        {
            throw new OpenStackFault($"{peer} at {target} broke off the answer to {request.Method} {request.RequestUri.AbsolutePath}: {e.InnerException?.Message ?? e.Message}", e);
        }
        catch (TimeoutRejectedException e)
        {
            throw new OpenStackFault($"{peer} at {target} did not answer {request.Method} {request.RequestUri.AbsolutePath} within {requestTimeout.TotalSeconds:0.#} s", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new OpenStackFault($"{peer} at {target} did not answer {request.Method} {request.RequestUri.AbsolutePath} in time (connect timeout)", e);
        }
    }

    /// <summary>Throws a fault describing an error answer.</summary>
    public static async Task<OpenStackFault> DescribeAsync(HttpResponseMessage response, string peer, CancellationToken cancellationToken)
    {
        var request = response.RequestMessage!;
        var what = $"{request.Method} {request.RequestUri!.AbsolutePath}";
        var status = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
        string text;
        try
        {
            text = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (HttpRequestException)
        {
            text = "";
        }
        if (LooksLikeHtml(response, text))
            return new OpenStackFault($"{peer} answered {what} with an HTML page ({status}) instead of JSON: is {request.RequestUri.Scheme}://{request.RequestUri.Authority} the right endpoint, or is a proxy in the way?");
        var message = ErrorMessage(text);
        var detail = message is null ? "" : $": {message}";
        return response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => new OpenStackFault($"{peer} refused the credentials for {what} ({status}){detail}"),
            HttpStatusCode.Forbidden => new OpenStackFault($"{peer} forbids {what} to these credentials ({status}){detail}"),
            HttpStatusCode.BadRequest when request.RequestUri.Query.Contains("marker=", StringComparison.Ordinal) && (message?.Contains("marker", StringComparison.OrdinalIgnoreCase) ?? true) =>
                new OpenStackFault($"{peer} no longer knows the paging marker of {what} ({status}){detail}: an image was deleted during the listing; the next rematch lists again"),
            HttpStatusCode.NotFound => new OpenStackFault($"{peer} has no {what} ({status}){detail}"),
            _ => new OpenStackFault($"{peer} failed {what} ({status}){detail}"),
        };
    }

    /// <summary>Parses a JSON answer; an HTML page, a truncated or malformed body is a fault.</summary>
    public static async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response, string peer, CancellationToken cancellationToken)
    {
        var request = response.RequestMessage!;
        var what = $"{request.Method} {request.RequestUri!.AbsolutePath}";
        var media = response.Content.Headers.ContentType?.MediaType;
        if (media is not null && media.Contains("html", StringComparison.OrdinalIgnoreCase))
            throw new OpenStackFault($"{peer} answered {what} with an HTML page (HTTP {(int)response.StatusCode}) instead of JSON: is {request.RequestUri.Scheme}://{request.RequestUri.Authority} the right endpoint, or is a proxy in the way?");
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            return await JsonDocument.ParseAsync(stream, default, cancellationToken);
        }
        catch (JsonException e)
        {
            // The message names a line and a byte position, never the content.
            throw new OpenStackFault($"{peer} answered {what} with invalid or truncated JSON (line {e.LineNumber}, byte {e.BytePositionInLine})", e);
        }
        catch (HttpRequestException e)
        {
            throw new OpenStackFault($"{peer} broke off the answer to {what}: {e.InnerException?.Message ?? e.Message}", e);
        }
        catch (IOException e)
        {
            throw new OpenStackFault($"{peer} broke off the answer to {what}: {e.Message}", e);
        }
    }

    private static bool LooksLikeHtml(HttpResponseMessage response, string text) =>
        (response.Content.Headers.ContentType?.MediaType?.Contains("html", StringComparison.OrdinalIgnoreCase) ?? false)
        || text.TrimStart().StartsWith('<');

    /// <summary>The human message of an OpenStack JSON error (Glance: <c>{"message": …}</c>; Keystone: <c>{"error": {"message": …}}</c>), shortened.</summary>
    private static string? ErrorMessage(string text)
    {
        if (text.Length == 0)
            return null;
        try
        {
            using var json = JsonDocument.Parse(text);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return null;
            if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
                root = error;
            if (root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String)
                return Shorten(message.GetString()!);
            if (root.TryGetProperty("title", out var title) && title.ValueKind == JsonValueKind.String)
                return Shorten(title.GetString()!);
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Shorten(string text)
    {
        text = text.ReplaceLineEndings(" ").Trim();
        return text.Length <= 200 ? text : text[..200] + "…";
    }
}

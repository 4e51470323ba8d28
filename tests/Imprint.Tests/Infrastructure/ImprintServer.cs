using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Imprint.Hosting;
using Imprint.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Imprint.Tests.Infrastructure;

/// <summary>A real `imprint serve` on a free loopback port with its own data dir (SQLite), shared by the tests of one class.</summary>
public class ImprintServer : IAsyncLifetime
{
    private WebApplication? _app;

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("imprint-test-").FullName;

    public Uri BaseAddress { get; private set; } = null!;

    public string AdminToken { get; private set; } = "";

    internal WebApplication App => _app ?? throw new InvalidOperationException("not started");

    /// <summary>Lets a test class replace services (e.g. the TimeProvider) before the server starts.</summary>
    internal Action<IServiceCollection>? ConfigureServices { get; init; }

    /// <summary>Lets a test class change the serve options (e.g. a low rate limit) before the server starts.</summary>
    internal Func<ServeOptions, ServeOptions>? ConfigureOptions { get; init; }

    /// <summary>The database to serve from; null for SQLite in the data dir.</summary>
    protected virtual Task<DatabaseLocation?> CreateDatabaseAsync() => Task.FromResult<DatabaseLocation?>(null);

    public async ValueTask InitializeAsync()
    {
        var options = new ServeOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = DataDirectory,
            Scheduler = false,
            Database = await CreateDatabaseAsync(),
        };
        options = ConfigureOptions?.Invoke(options) ?? options;
        _app = ServerApp.Build(options, ConfigureServices);
        await ServerApp.PrepareDatabaseAsync(_app, TestContext.Current.CancellationToken);
        await _app.StartAsync(TestContext.Current.CancellationToken);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
        // A server started on a database that already has accounts writes no admin token.
        AdminToken = File.Exists(options.AdminTokenPath) ? (await File.ReadAllTextAsync(options.AdminTokenPath, TestContext.Current.CancellationToken)).Trim() : "";
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp dir is harmless.
        }
    }

    public ApiClient Client(string? token = null) => new(BaseAddress, token ?? AdminToken);
}

/// <summary>An HTTP client for the API that returns parsed JSON and keeps the status code.</summary>
public sealed class ApiClient(Uri baseAddress, string? token) : IDisposable
{
    private readonly HttpClient _http = CreateClient(baseAddress, token);

    private static HttpClient CreateClient(Uri baseAddress, string? token)
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    public HttpClient Http => _http;

    public Task<Reply> GetAsync(string path) => SendAsync(new HttpRequestMessage(HttpMethod.Get, path));

    public Task<Reply> DeleteAsync(string path) => SendAsync(new HttpRequestMessage(HttpMethod.Delete, path));

    public Task<Reply> PostAsync(string path, object? body = null) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = body is null ? null : JsonContent.Create(body) });

    public Task<Reply> PatchAsync(string path, object body) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Patch, path) { Content = JsonContent.Create(body) });

    public Task<Reply> PostRawAsync(string path, string json) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") });

    public async Task<Reply> SendAsync(HttpRequestMessage request)
    {
        using var response = await _http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        JsonNode? json = null;
        if (text.Length > 0 && (response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) ?? false))
            json = JsonNode.Parse(text);
        return new Reply((int)response.StatusCode, json, text, response.Content.Headers.ContentType?.MediaType);
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>A response: status, body as JSON (when it is JSON) and as text.</summary>
public sealed record Reply(int Status, JsonNode? Json, string Text, string? MediaType)
{
    public JsonNode Body => Json ?? throw new InvalidOperationException($"HTTP {Status} without JSON body: {Text}");

    public string this[string property] => Body[property]?.ToString() ?? throw new InvalidOperationException($"no '{property}' in {Text}");

    public Reply ShouldHaveStatus(int status)
    {
        Status.ShouldBe(status, Text);
        return this;
    }

    public override string ToString() => $"{Status} {Text}";

    public static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true };
}

using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Imprint.Clouds.OpenStack;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Imprint.Clouds.Tests.Infrastructure;

/// <summary>
/// The real Glance and Keystone that .ci/setup.d/20-glance.sh started (URLs in its env file). Tests fail, not skip,
/// when they are not running: the OpenStack connector is only tested against the real thing.
/// </summary>
public static class Peers
{
    public static string EnvFile => Path.Combine(Environment.GetEnvironmentVariable("IMPRINT_CI_DIR") ?? "/tmp/imprint-ci", "glance.env");

    private static readonly Lazy<IReadOnlyDictionary<string, string>> Env = new(() =>
    {
        if (!File.Exists(EnvFile))
            throw new InvalidOperationException($"Glance is not running: no {EnvFile}. Start it with `bash .ci/setup.d/20-glance.sh` (.ci/run does).");
        return File.ReadAllLines(EnvFile).Where(l => l.Contains('=', StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf('=', StringComparison.Ordinal)], l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..]);
    });

    public static string GlanceUrl => Get("GLANCE_URL");
    public static string KeystoneUrl => Get("KEYSTONE_URL");
    public static string GlanceKeystoneUrl => Get("GLANCE_KEYSTONE_URL");
    public static string Script => Get("GLANCE_SCRIPT");

    private static string Get(string key) => Env.Value.TryGetValue(key, out var value) ? value : throw new InvalidOperationException($"{EnvFile} has no {key}");

    /// <summary>A connector with its real HttpClients and resilience pipeline, options as given.</summary>
    internal static (GlanceConnector Connector, GlanceUploader Uploader, KeystoneAuthenticator Keystone, ServiceProvider Services) Connector(Action<OpenStackOptions>? configure = null, TimeProvider? time = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        if (time is not null)
            services.AddSingleton(time);
        services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        services.AddOpenStackConnector(o =>
        {
            o.RetryDelay = TimeSpan.FromMilliseconds(50);
            configure?.Invoke(o);
        });
        var provider = services.BuildServiceProvider();
        return (provider.GetRequiredService<GlanceConnector>(), provider.GetRequiredService<GlanceUploader>(), provider.GetRequiredService<KeystoneAuthenticator>(), provider);
    }

    public static byte[] RandomBytes(int length) => RandomNumberGenerator.GetBytes(length);

    /// <summary>The raw disk <paramref name="raw"/> converted to qcow2 by qemu-img (in <paramref name="work"/>).</summary>
    public static async Task<byte[]> Qcow2Async(string work, byte[] raw)
    {
        var name = Path.Combine(work, Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(name + ".raw", raw, TestContext.Current.CancellationToken);
        await RunAsync("qemu-img", "convert", "-f", "raw", "-O", "qcow2", name + ".raw", name + ".qcow2");
        return await File.ReadAllBytesAsync(name + ".qcow2", TestContext.Current.CancellationToken);
    }

    /// <summary>
    /// A sparse disk of 1 GiB + 64 KiB with data at its start and 700 MiB in, as raw and converted to qcow2 by qemu-img:
    /// the qcow2 has a second L2 table after the first data, well past the first MiBs a download starts with.
    /// </summary>
    public static async Task<(string Raw, string Qcow2)> SparseQcow2Async(string work)
    {
        var name = Path.Combine(work, Guid.NewGuid().ToString("N"));
        await using (var raw = File.Create(name + ".raw"))
        {
            raw.SetLength((1L << 30) + 65536);
            await raw.WriteAsync(RandomBytes(3 << 20), TestContext.Current.CancellationToken);
            raw.Position = 700L << 20;
            await raw.WriteAsync(RandomBytes(1 << 20), TestContext.Current.CancellationToken);
        }
        await RunAsync("qemu-img", "convert", "-f", "raw", "-O", "qcow2", name + ".raw", name + ".qcow2");
        return (name + ".raw", name + ".qcow2");
    }

    /// <summary>Runs a tool; fails (never skips) when it is missing or fails: .ci/run installs what the tests need.</summary>
    public static async Task RunAsync(string tool, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(tool, args) { RedirectStandardError = true })!;
        var error = await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        process.ExitCode.ShouldBe(0, error);
    }

    /// <summary>Starts a Glance of its own (for a test that stops it); returns its URL and pid.</summary>
    public static Task<(string Url, int Pid)> StartOwnGlanceAsync(CancellationToken cancellationToken)
    {
        var port = FreePort();
        return RunGlanceScriptAsync("glance", port, cancellationToken);
    }

    /// <summary>Starts again, with the images it held, a Glance that <see cref="StartOwnGlanceAsync"/> started and that was stopped.</summary>
    public static Task<(string Url, int Pid)> RestartOwnGlanceAsync(string url, CancellationToken cancellationToken) =>
        RunGlanceScriptAsync("restart", new Uri(url).Port, cancellationToken);

    private static async Task<(string Url, int Pid)> RunGlanceScriptAsync(string verb, int port, CancellationToken cancellationToken)
    {
        var dir = Path.Combine(Path.GetTempPath(), "imprint-glance-" + port);
        var start = new ProcessStartInfo("bash", [Script, verb, port.ToString(System.Globalization.CultureInfo.InvariantCulture), dir])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = await process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{verb} of a Glance failed: {error}");
        var values = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(l => l[..l.IndexOf('=', StringComparison.Ordinal)], l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..]);
        return (values["GLANCE_URL"], int.Parse(values["GLANCE_PID"], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The log of a Glance that <see cref="StartOwnGlanceAsync"/> started: one line per request it served.</summary>
    public static string OwnGlanceLog(string url) => Path.Combine(Path.GetTempPath(), "imprint-glance-" + new Uri(url).Port, "glance-api.log");

    public static async Task StopAsync(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
            await process.WaitForExitAsync();
        }
        catch (ArgumentException)
        {
            // Already gone.
        }
    }

    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Direct calls to a Glance (as an administrator would make them), to set up what the connector then finds.</summary>
public sealed class GlanceAdmin(string url, string? token = null) : IDisposable
{
    private readonly HttpClient _http = Create(url, token);

    private static HttpClient Create(string url, string? token)
    {
        var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        if (token is not null)
            http.DefaultRequestHeaders.Add("X-Auth-Token", token);
        return http;
    }

    public async Task<string> CreateAsync(string name, byte[]? data, string diskFormat = "raw", IDictionary<string, string>? properties = null, string? visibility = null)
    {
        var body = new JsonObject { ["name"] = name, ["disk_format"] = diskFormat, ["container_format"] = "bare" };
        if (visibility is not null)
            body["visibility"] = visibility;
        foreach (var (key, value) in properties ?? new Dictionary<string, string>())
            body[key] = value;
        using var created = await _http.PostAsJsonAsync("/v2/images", body, TestContext.Current.CancellationToken);
        created.EnsureSuccessStatusCode();
        var id = (await created.Content.ReadFromJsonAsync<JsonObject>(TestContext.Current.CancellationToken))!["id"]!.ToString();
        if (data is not null)
        {
            using var content = new ByteArrayContent(data);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
            using var put = await _http.PutAsync($"/v2/images/{id}/file", content, TestContext.Current.CancellationToken);
            put.EnsureSuccessStatusCode();
        }
        return id;
    }

    public async Task SetPropertyAsync(string id, string key, string value)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"/v2/images/{id}")
        {
            Content = new StringContent($"[{{\"op\": \"add\", \"path\": \"/{key}\", \"value\": \"{value}\"}}]"),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/openstack-images-v2.1-json-patch");
        using var response = await _http.SendAsync(request, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Shares an image (visibility shared) with a project, whose answer is then pending.</summary>
    public async Task ShareAsync(string id, string project)
    {
        using var response = await _http.PostAsJsonAsync($"/v2/images/{id}/members", new JsonObject { ["member"] = project }, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The project's answer to a share (accepted, rejected), given with that project's token.</summary>
    public async Task AnswerShareAsync(string id, string project, string status)
    {
        using var response = await _http.PutAsJsonAsync($"/v2/images/{id}/members/{project}", new JsonObject { ["status"] = status }, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
    }

    public async Task DeleteAsync(string id)
    {
        using var response = await _http.DeleteAsync($"/v2/images/{id}", TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
    }

    public async Task<JsonObject> GetAsync(string id) =>
        (await _http.GetFromJsonAsync<JsonObject>($"/v2/images/{id}", TestContext.Current.CancellationToken))!;

    public void Dispose() => _http.Dispose();
}

/// <summary>Tests that change or count what the shared Glance holds run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlanceCollection
{
    public const string Name = "glance";
}

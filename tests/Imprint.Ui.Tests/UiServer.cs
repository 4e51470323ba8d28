using System.Net;
using System.Text.RegularExpressions;
using Imprint.Auth;
using Imprint.Core.Catalog;
using Imprint.Demo;
using Imprint.Hosting;
using Imprint.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Imprint.Ui.Tests;

/// <summary>
/// The real <c>imprint serve --demo</c> application on 127.0.0.1 and a free port, in a data directory of its own
/// (scheduler off, so that only the tests rematch).
/// </summary>
public sealed partial class UiServer : IAsyncLifetime
{
    private WebApplication? _app;

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "imprint-ui-tests", Guid.NewGuid().ToString("N"));
    public Uri BaseAddress { get; private set; } = null!;
    public string AdminToken { get; private set; } = "";
    internal IServiceProvider Services => _app!.Services;

    public async ValueTask InitializeAsync()
    {
        var options = new ServeOptions { Urls = "http://127.0.0.1:0", DataDirectory = DataDirectory, Demo = true, Scheduler = false };
        _app = ServerApp.Build(options);
        AdminToken = await ServerApp.PrepareDatabaseAsync(_app, CancellationToken.None) ?? throw new InvalidOperationException("no admin token");
        await DemoData.SeedAsync(_app.Services, options, CancellationToken.None);
        await _app.StartAsync();
        var address = _app.Urls.First();
        BaseAddress = new Uri(address);
    }

    public async ValueTask DisposeAsync()
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
            // a leftover temp directory is harmless
        }
    }

    internal async Task<T> WithDbAsync<T>(Func<ImprintDb, Task<T>> work)
    {
        await using var db = await Services.GetRequiredService<IDbContextFactory<ImprintDb>>().CreateDbContextAsync();
        return await work(db);
    }

    internal Task<string> IdOfAsync<T>(Func<ImprintDb, IQueryable<T>> set, Func<T, bool> pick, Func<T, string> id) where T : class =>
        WithDbAsync(async db => id((await set(db).ToListAsync()).First(pick)));

    internal Task<string> TemplateIdAsync(string name) => IdOfAsync(db => db.ServerTemplates, t => t.Name == name && t.Revision == 0, t => t.Id);
    internal Task<string> MciIdAsync(string name) => IdOfAsync(db => db.MultiCloudImages, m => m.Name == name && m.Revision == 0, m => m.Id);
    internal Task<string> CloudIdAsync(string name) => IdOfAsync(db => db.Clouds, c => c.Name == name, c => c.Id);

    /// <summary>A second account with an admin token of its own: its ids must be invisible to the demo account.</summary>
    internal Task<string> NewAccountTokenAsync(string name) => WithDbAsync(async db =>
    {
        var time = TimeProvider.System;
        var account = new Core.Catalog.Account { Id = Ids.New("acc", time), Name = name, CreatedAt = time.GetUtcNow() };
        var secret = TokenAuthenticationHandler.NewSecret();
        db.Accounts.Add(account);
        db.Tokens.Add(new ApiToken
        {
            Id = Ids.New("tok", time), AccountId = account.Id, Name = $"{name} admin", Role = Roles.Admin,
            SecretHash = TokenAuthenticationHandler.HashSecret(secret), CreatedAt = time.GetUtcNow(),
        });
        await db.SaveChangesAsync();
        return secret;
    });

    /// <summary>A token of the demo account with <paramref name="role"/>.</summary>
    internal Task<string> NewTokenAsync(string role) => WithDbAsync(async db =>
    {
        var time = TimeProvider.System;
        var account = await db.Accounts.OrderBy(a => a.CreatedAt).FirstAsync();
        var secret = TokenAuthenticationHandler.NewSecret();
        db.Tokens.Add(new ApiToken
        {
            Id = Ids.New("tok", time), AccountId = account.Id, Name = $"a {role}", Role = role,
            SecretHash = TokenAuthenticationHandler.HashSecret(secret), CreatedAt = time.GetUtcNow(),
        });
        await db.SaveChangesAsync();
        return secret;
    });

    /// <summary>An HTTP client with a cookie jar, signed in with <paramref name="token"/> (the admin's by default).</summary>
    public async Task<HttpClient> SignedInClientAsync(string? token = null)
    {
        var client = NewClient();
        var response = await PostFormAsync(client, "/ui/login", new Dictionary<string, string> { ["token"] = token ?? AdminToken });
        response.StatusCode.ShouldBe(HttpStatusCode.Redirect, await response.Content.ReadAsStringAsync());
        return client;
    }

    public HttpClient NewClient() =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = BaseAddress };

    /// <summary>GETs <paramref name="formPage"/> (default: <paramref name="path"/>), takes its anti-forgery token and POSTs the form.</summary>
    public static async Task<HttpResponseMessage> PostFormAsync(HttpClient client, string path, Dictionary<string, string> fields, string? formPage = null)
    {
        var page = await client.GetStringAsync(formPage ?? path.Split('?')[0]);
        var token = AntiforgeryField().Match(page);
        token.Success.ShouldBeTrue($"no anti-forgery token on {formPage ?? path}");
        fields["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value);
        return await client.PostAsync(path, new FormUrlEncodedContent(fields));
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}

using System.Collections.Concurrent;
using System.Text;
using Imprint.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Imprint.Tests.Accounts;

/// <summary>Cloud credentials and token secrets: never in a response, a log line, the audit or the database files.</summary>
public sealed class SecretsTests : IAsyncLifetime
{
    private readonly CapturedLogs _logs = new();
    private readonly ImprintServer _server;

    public SecretsTests() =>
        _server = new ImprintServer { ConfigureServices = services => services.AddSingleton<ILoggerProvider>(_logs) };

    public ValueTask InitializeAsync() => _server.InitializeAsync();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task Credentials_NeverInResponsesLogsAuditOrDatabaseFiles()
    {
        var account = await _server.CreateAccountWithRolesAsync();
        using var api = account.As("admin");
        var secret = "pa55-" + Guid.NewGuid().ToString("N");
        var rotated = "rotated-" + Guid.NewGuid().ToString("N");
        var folder = TestImages.NewFolder();
        TestImages.Write(folder, "a.raw", seed: 5);
        var replies = new List<Reply>();

        var created = (await api.PostAsync("/api/clouds", new { name = "with-secret", kind = "folder", endpoint = folder, credentials = secret })).ShouldHaveStatus(201);
        replies.Add(created);
        var id = created["id"];
        created.Body["credentialsSet"]!.GetValue<bool>().ShouldBeTrue();
        replies.Add(await api.GetAsync($"/api/clouds/{id}"));
        replies.Add(await api.GetAsync("/api/clouds"));
        replies.Add(await api.RematchAsync(id));
        replies.Add((await api.PatchAsync($"/api/clouds/{id}", new { credentials = rotated })).ShouldHaveStatus(200));
        // A failing sync must not carry the credentials into its error either.
        Directory.Delete(folder, recursive: true);
        replies.Add(await api.PostAsync($"/api/clouds/{id}/rematch"));
        replies.Add(await api.GetAsync($"/api/clouds/{id}"));
        replies.Add((await api.GetAsync("/api/audit?limit=500")).ShouldHaveStatus(200));
        replies.Add(await api.PostAsync("/api/clouds", new { name = "bad", kind = "folder", credentials = secret }));

        foreach (var reply in replies)
        {
            reply.Text.ShouldNotContain(secret);
            reply.Text.ShouldNotContain(rotated);
        }
        _logs.Lines.ShouldNotBeEmpty();
        _logs.Lines.ShouldAllBe(line => !line.Contains(secret) && !line.Contains(rotated));
        AssertNotInDataFiles(secret, rotated);
    }

    [Fact]
    public async Task TokenSecret_ShownOnce_NeverListedNorStored()
    {
        var accountId = await _server.CreateAccountAsync();
        using var admin = _server.Client();

        var created = (await admin.PostAsync($"/api/accounts/{accountId}/tokens", new { name = "ci", role = "viewer" })).ShouldHaveStatus(201);
        var secret = created["token"];

        secret.ShouldStartWith("imp_");
        using var viewer = _server.Client(secret);
        (await viewer.GetAsync("/api/clouds")).ShouldHaveStatus(200);
        using var accountAdmin = _server.Client(await _server.CreateTokenAsync(accountId, "admin"));
        var listed = (await accountAdmin.GetAsync("/api/tokens")).ShouldHaveStatus(200);
        listed.Body["items"]!.AsArray().ShouldContain(t => t!["id"]!.ToString() == created["id"]);
        listed.Text.ShouldNotContain(secret);
        (await accountAdmin.GetAsync($"/api/tokens/{created["id"]}")).Text.ShouldNotContain(secret);
        (await accountAdmin.GetAsync("/api/audit?limit=500")).Text.ShouldNotContain(secret);
        _logs.Lines.ShouldAllBe(line => !line.Contains(secret));
        AssertNotInDataFiles(secret);
    }

    /// <summary>Greps every file of the data dir (the SQLite file, its WAL, the keys) for the secrets.</summary>
    private void AssertNotInDataFiles(params string[] secrets)
    {
        var files = Directory.EnumerateFiles(_server.DataDirectory, "*", SearchOption.AllDirectories).ToList();
        files.ShouldContain(f => f.EndsWith("imprint.db", StringComparison.Ordinal));
        foreach (var file in files)
        {
            byte[] bytes;
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            {
                bytes = new byte[stream.Length];
                stream.ReadExactly(bytes);
            }
            foreach (var secret in secrets)
            {
                bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)).ShouldBe(-1, $"{secret} found in {file}");
                bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes(secret)).ShouldBe(-1, $"{secret} (UTF-16) found in {file}");
            }
        }
    }

    /// <summary>Every log line the server writes, formatted, with its exception.</summary>
    private sealed class CapturedLogs : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyCollection<string> Lines => _lines.ToArray();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturedLogs owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner._lines.Enqueue($"{category} {logLevel} {formatter(state, exception)} {exception}");
        }
    }
}

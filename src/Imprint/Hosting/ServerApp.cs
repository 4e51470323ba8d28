using System.Text.Json.Serialization;
using Imprint.Accounts;
using Imprint.Api;
using Imprint.Auth;
using Imprint.Clouds;
using Imprint.Clouds.Folder;
using Imprint.Clouds.OpenStack;
using Imprint.Marketplace;
using Imprint.Rematch;
using Imprint.Storage;
using Imprint.Storage.Postgres;
using Imprint.Storage.Sqlite;
using Imprint.Ui;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Hosting;

/// <summary>Builds the `imprint serve` web application: API, scheduled rematch, storage.</summary>
internal static class ServerApp
{
    /// <summary>Request bodies larger than this are refused with 413.</summary>
    public const long MaxRequestBodySize = 1024 * 1024;

    public static WebApplication Build(ServeOptions options, Action<IServiceCollection>? configureServices = null)
    {
        Directory.CreateDirectory(options.DataDirectory);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = MaxRequestBodySize);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            json.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        });
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
        {
            var status = ctx.ProblemDetails.Status ?? 500;
            if (ctx.ProblemDetails.Type is null || ctx.ProblemDetails.Type.StartsWith("https://tools.ietf.org", StringComparison.Ordinal))
                ctx.ProblemDetails.Type = Problems.TypeFor(status);
        });
        services.AddOpenApi();

        var database = options.EffectiveDatabase;
        services.AddDbContextFactory<ImprintDb>(db =>
        {
            if (database.Provider == DatabaseLocation.Postgres)
                PostgresStorage.Configure(db, database.ConnectionString);
            else
                SqliteStorage.Configure(db, database.ConnectionString);
        });

        services.AddDataProtection()
            .SetApplicationName("imprint")
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(options.DataDirectory, "keys")));

        services.AddSingleton<ICloudConnector, FolderConnector>();
        services.AddOpenStackConnector();
        services.AddSingleton<CloudLeases>();
        services.AddSingleton<RematchService>();
        if (options.Scheduler)
        {
            services.AddSingleton(sp => ActivatorUtilities.CreateInstance<RematchScheduler>(sp, options.SchedulerTick));
            services.AddHostedService(sp => sp.GetRequiredService<RematchScheduler>());
        }

        services.AddSingleton<TokenAttemptLimiter>();
        services.AddAuthentication(TokenAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, TokenAuthenticationHandler>(TokenAuthenticationHandler.SchemeName, null);
        services.AddAuthorization(Policies.Add);
        services.AddImprintUi();
        configureServices?.Invoke(services);

        var app = builder.Build();
        app.UseMiddleware<ProblemMiddleware>();
        app.UseStatusCodePages();
        app.UseImprintUi();
        app.UseAuthentication();
        app.UseAuthorization();
        app.Use(async (context, next) =>
        {
            // Every query of this request sees only the caller's account.
            if (context.User.Identity?.IsAuthenticated == true)
                context.RequestServices.GetRequiredService<ImprintDb>().AccountScope = context.User.AccountId();
            await next(context);
        });

        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "ok" })).AllowAnonymous().ExcludeFromDescription();
        app.MapOpenApi().AllowAnonymous();
        app.MapCloudsApi();
        app.MapCloudUploadApi();
        app.MapMultiCloudImagesApi();
        app.MapServerTemplatesApi();
        app.MapServersApi();
        app.MapAuditApi();
        app.MapAccountsApi();
        app.MapMarketplaceApi();
        app.MapImprintUi();
        return app;
    }

    /// <summary>The PostgreSQL advisory lock key held while a server migrates the database and makes its first account.</summary>
    private const long MigrationLockKey = 0x496d7072696e74; // "Imprint"

    /// <summary>
    /// Applies migrations, enables WAL on SQLite, and on an empty database creates the default account and its admin token.
    /// Several `imprint serve` starting together on one PostgreSQL database would apply the same migrations at once (the
    /// second fails with "relation already exists"): there, one server at a time does this, under a session advisory lock.
    /// </summary>
    public static async Task<string?> PrepareDatabaseAsync(WebApplication app, CancellationToken cancellationToken)
    {
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<ImprintDb>>().CreateDbContextAsync(cancellationToken);
        if (db.Database.IsSqlite())
        {
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
            return await MigrateAndMakeFirstAccountAsync(app, db, cancellationToken);
        }
        await db.Database.OpenConnectionAsync(cancellationToken);
        await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_lock({MigrationLockKey})", cancellationToken);
        try
        {
            return await MigrateAndMakeFirstAccountAsync(app, db, cancellationToken);
        }
        finally
        {
            // Explicitly: a pooled connection keeps a session lock until it is reused.
            await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_unlock({MigrationLockKey})", CancellationToken.None);
        }
    }

    private static async Task<string?> MigrateAndMakeFirstAccountAsync(WebApplication app, ImprintDb db, CancellationToken cancellationToken)
    {
        var options = app.Services.GetRequiredService<ServeOptions>();
        var time = app.Services.GetRequiredService<TimeProvider>();
        await db.Database.MigrateAsync(cancellationToken);
        if (await db.Accounts.AnyAsync(cancellationToken))
            return null;

        var now = time.GetUtcNow();
        var account = new Core.Catalog.Account { Id = Ids.New("acc", time), Name = "default", CreatedAt = now };
        var secret = TokenAuthenticationHandler.NewSecret();
        db.Accounts.Add(account);
        db.Tokens.Add(new Core.Catalog.ApiToken
        {
            Id = Ids.New("tok", time),
            AccountId = account.Id,
            Name = "installation admin",
            Role = Core.Catalog.Roles.Admin,
            SecretHash = TokenAuthenticationHandler.HashSecret(secret),
            IsInstallationAdmin = true,
            CreatedAt = now,
        });
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException e) when (Api.StoreErrors.IsLostRace(e))
        {
            // Another `imprint serve` on this SQLite file made the first account a moment ago: its data dir has the token.
            return null;
        }
        await WriteSecretFileAsync(options.AdminTokenPath, secret, cancellationToken);
        Log.FirstStart(app.Logger, options.AdminTokenPath);
        return secret;
    }

    private static async Task WriteSecretFileAsync(string path, string secret, CancellationToken cancellationToken)
    {
        var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        await using var file = new FileStream(path, fileOptions);
        await using var writer = new StreamWriter(file);
        await writer.WriteLineAsync(secret.AsMemory(), cancellationToken);
    }
}

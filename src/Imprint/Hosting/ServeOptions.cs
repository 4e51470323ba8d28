using Imprint.Storage;

namespace Imprint.Hosting;

/// <summary>How <c>imprint serve</c> runs. Defaults as API.md documents them.</summary>
internal sealed record ServeOptions
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public string Urls { get; init; } = DefaultUrl;

    /// <summary>Holds the SQLite database, the admin token and the demo images.</summary>
    public string DataDirectory { get; init; } = DefaultDataDirectory();

    /// <summary>Null means SQLite inside the data directory.</summary>
    public DatabaseLocation? Database { get; init; }

    public bool Demo { get; init; }

    /// <summary>How often the scheduler looks for clouds due for a rematch.</summary>
    public TimeSpan SchedulerTick { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Run the scheduled rematch (tests that drive rematch by hand turn it off).</summary>
    public bool Scheduler { get; init; } = true;

    /// <summary>Failed token attempts a client IP may make per minute before it is answered 429 (default 20).</summary>
    public int FailedTokenAttemptsPerMinute { get; init; } = 20;

    public DatabaseLocation EffectiveDatabase =>
        Database ?? new DatabaseLocation(DatabaseLocation.Sqlite, Path.Combine(DataDirectory, "imprint.db"));

    public string AdminTokenPath => Path.Combine(DataDirectory, "admin.token");

    public static string DefaultDataDirectory()
    {
        var dataHome = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        if (string.IsNullOrEmpty(dataHome))
            dataHome = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        return Path.Combine(dataHome, "imprint");
    }
}

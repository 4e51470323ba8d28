using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Imprint.Api;

/// <summary>Classifies database errors by their codes (never by message text).</summary>
internal static class StoreErrors
{
    private const int SqliteBusy = 5;
    private const int SqliteConstraint = 19;

    /// <summary>
    /// True when a concurrent writer got there first: a unique index refused the row, or SQLite's snapshot was
    /// overtaken. Trying again sees the other writer's rows.
    /// </summary>
    public static bool IsLostRace(DbUpdateException exception) => exception.InnerException switch
    {
        PostgresException postgres => postgres.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.SerializationFailure,
        SqliteException sqlite => sqlite.SqliteErrorCode is SqliteConstraint or SqliteBusy,
        _ => false,
    };
}

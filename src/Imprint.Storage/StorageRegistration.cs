namespace Imprint.Storage;

/// <summary>Where the store lives: <c>sqlite:PATH</c> (the default, embedded) or <c>postgres:CONNECTION-STRING</c>.</summary>
public sealed record DatabaseLocation(string Provider, string ConnectionString)
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";

    /// <summary>Parses the <c>--database</c> option. Returns null with an error message when it is not understood.</summary>
    public static DatabaseLocation? Parse(string text, out string? error)
    {
        error = null;
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var provider = colon > 0 ? text[..colon] : "";
        var rest = colon > 0 ? text[(colon + 1)..] : "";
        if (provider is Sqlite or Postgres && rest.Length > 0)
            return new DatabaseLocation(provider, rest);
        error = $"--database '{text}' is not understood: use sqlite:PATH or postgres:CONNECTION-STRING";
        return null;
    }
}

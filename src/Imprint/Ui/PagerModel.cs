using Microsoft.AspNetCore.WebUtilities;

namespace Imprint.Ui;

/// <summary>Cursor paging links that keep the page's other query parameters (search, filters).</summary>
internal sealed record PagerModel(string Path, IReadOnlyDictionary<string, string?> Query, bool HasCursor, string? Next)
{
    public const int PageSize = 25;

    public string Url(string? cursor)
    {
        var query = Query.Where(q => !string.IsNullOrEmpty(q.Value)).ToDictionary(q => q.Key, q => q.Value);
        if (cursor is not null)
            query["cursor"] = cursor;
        return QueryHelpers.AddQueryString(Path, query);
    }
}

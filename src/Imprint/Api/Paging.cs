using Microsoft.AspNetCore.Http.HttpResults;

namespace Imprint.Api;

/// <summary>A page of a list: <c>{ items, next }</c>, where <c>next</c> is the cursor of the following page or null.</summary>
internal sealed record Page<T>(IReadOnlyList<T> Items, string? Next);

/// <summary>Cursor paging over string ids in ascending order (ids sort by creation).</summary>
internal static class Paging
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    /// <summary>Checks <c>limit</c>; returns a problem when it is out of range.</summary>
    public static ValidationProblem? Check(int? limit, out int effective)
    {
        effective = limit ?? DefaultLimit;
        return effective is < 1 or > MaxLimit ? Problems.Invalid("limit", $"must be between 1 and {MaxLimit}") : null;
    }

    /// <summary>Pages a query ordered by <paramref name="key"/>, after <paramref name="cursor"/>.</summary>
    public static async Task<Page<TOut>> PageAsync<T, TOut>(
        IQueryable<T> query, System.Linq.Expressions.Expression<Func<T, string>> key, string? cursor, int limit,
        Func<T, TOut> map, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(cursor))
        {
            var parameter = key.Parameters[0];
            var after = System.Linq.Expressions.Expression.Lambda<Func<T, bool>>(
                System.Linq.Expressions.Expression.GreaterThan(
                    System.Linq.Expressions.Expression.Call(typeof(string), nameof(string.Compare), null, key.Body,
                        System.Linq.Expressions.Expression.Constant(cursor)),
                    System.Linq.Expressions.Expression.Constant(0)),
                parameter);
            query = query.Where(after);
        }
        var rows = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.ToListAsync(
            query.OrderBy(key).Take(limit + 1), cancellationToken);
        var next = rows.Count > limit ? key.Compile()(rows[limit - 1]) : null;
        return new Page<TOut>(rows.Take(limit).Select(map).ToList(), next);
    }
}

using Microsoft.AspNetCore.Http.HttpResults;

namespace Imprint.Api;

/// <summary>RFC 9457 problem details with Imprint's stable type URIs.</summary>
internal static class Problems
{
    public const string TypeBase = "https://imprint.dev/problems/";

    public static string TypeFor(int status) => TypeBase + status switch
    {
        400 => "validation",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not-found",
        405 => "method-not-allowed",
        409 => "conflict",
        413 => "too-large",
        415 => "unsupported-media-type",
        422 => "unprocessable",
        429 => "too-many-requests",
        503 => "cloud-unreachable",
        _ => "error",
    };

    public static ProblemHttpResult NotFound(string what) =>
        TypedResults.Problem(statusCode: 404, title: "Not found", type: TypeFor(404), detail: what);

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(statusCode: 409, title: "Conflict", type: TypeFor(409), detail: detail);

    public static ValidationProblem Invalid(string field, string message) =>
        Invalid(new Dictionary<string, string[]> { [field] = [message] });

    public static ValidationProblem Invalid(IDictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, type: TypeFor(400), title: "Invalid request",
            detail: string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")));
}

/// <summary>Collects validation errors field by field.</summary>
internal sealed class Validation
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool IsValid => _errors.Count == 0;

    public Validation Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list))
            _errors[field] = list = [];
        list.Add(message);
        return this;
    }

    /// <summary>Requires a non-blank string of at most <paramref name="max"/> characters.</summary>
    public string? Required(string field, string? value, int max = 200)
    {
        if (string.IsNullOrWhiteSpace(value))
            Add(field, "is required");
        else
            Length(field, value, max);
        return value?.Trim();
    }

    public void Length(string field, string? value, int max)
    {
        if (value is not null && value.Length > max)
            Add(field, $"must be at most {max} characters");
    }

    public ValidationProblem Problem() => Problems.Invalid(_errors.ToDictionary(e => e.Key, e => e.Value.ToArray()));
}

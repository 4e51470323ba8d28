using System.Diagnostics.CodeAnalysis;

namespace Imprint.Core.Digests;

/// <summary>The outcome of parsing text: a value, or the reason it is not one. Expected failures are values, not exceptions.</summary>
public readonly record struct ParseResult<T>
{
    // Invariant: exactly one of Value (when Success) or Error is meaningful.
    private ParseResult(T? value, string? error)
    {
        Value = value;
        Error = error;
    }

    /// <summary>The parsed value; default when parsing failed.</summary>
    public T? Value { get; }

    /// <summary>Why parsing failed; null on success.</summary>
    public string? Error { get; }

    /// <summary>True when <see cref="Value"/> holds a parsed value.</summary>
    [MemberNotNullWhen(false, nameof(Error))]
    public bool Success => Error is null;

    /// <summary>A successful result.</summary>
    public static ParseResult<T> Ok(T value) => new(value, null);

    /// <summary>A failed result with a message for the user.</summary>
    public static ParseResult<T> Fail(string error) => new(default, error);

    /// <summary>The value, or an exception carrying the error for callers that treat failure as a bug.</summary>
    public T GetValueOrThrow() => Success ? Value! : throw new FormatException(Error);
}

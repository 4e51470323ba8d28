using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Imprint.Core.Digests;

/// <summary>
/// One digest, <c>algorithm:hex</c>, e.g. <c>sha256:9f86d0…</c> or <c>disk-sha256:…</c>. Immutable; compares by
/// algorithm and value. Written with lowercase hex, so that equal digests have equal text.
/// </summary>
public readonly struct Digest : IEquatable<Digest>, IComparable<Digest>
{
    private const int MaxBytes = 64;

    // The value lives inside the struct (unused bytes zero): the matcher compares millions of digests, and a value
    // behind a reference would cost a cache miss per comparison.
    private readonly DigestValue _value;

    [InlineArray(MaxBytes)]
    private struct DigestValue
    {
        private byte _first;
    }

    private Digest(DigestAlgorithm algorithm, ReadOnlySpan<byte> value)
    {
        Algorithm = algorithm;
        value.CopyTo(_value);
    }

    /// <summary>The algorithm.</summary>
    public DigestAlgorithm Algorithm { get; }

    /// <summary>The digest value as lowercase hex.</summary>
    public string Hex => Convert.ToHexStringLower(((ReadOnlySpan<byte>)_value)[..Length]);

    private int Length => Algorithm == 0 ? 0 : Algorithm.ByteLength();

    /// <summary>The first 8 bytes of the value: a hash key that needs no other work.</summary>
    internal ulong Prefix => BinaryPrimitives.ReadUInt64BigEndian(_value);

    /// <summary>True for file digests (md5, sha1, sha256, sha512); false for <c>disk-sha256</c>.</summary>
    public bool IsFileDigest => Algorithm.IsFileDigest();

    /// <summary>Parses <c>algorithm:hex</c>. Never throws: a wrong algorithm, length or character is a failed result.</summary>
    public static ParseResult<Digest> Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return ParseResult<Digest>.Fail("a digest is required, written algorithm:hex");
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
            return ParseResult<Digest>.Fail($"'{Shorten(text)}' is not a digest: write algorithm:hex, e.g. sha256:<64 hex digits>");
        var name = text.AsSpan(0, colon);
        if (!DigestAlgorithms.TryParse(name, out var algorithm))
            return ParseResult<Digest>.Fail($"unknown digest algorithm '{Shorten(name.ToString())}': use md5, sha1, sha256, sha512 or disk-sha256");
        var hex = text.AsSpan(colon + 1);
        var expected = algorithm.ByteLength() * 2;
        if (hex.Length != expected)
            return ParseResult<Digest>.Fail($"a {algorithm.Name()} digest has {expected} hex digits, not {hex.Length}");
        foreach (var c in hex)
        {
            if (!char.IsAsciiHexDigit(c))
                return ParseResult<Digest>.Fail($"'{c}' is not a hex digit in the {algorithm.Name()} digest");
        }
        Span<byte> bytes = stackalloc byte[MaxBytes];
        Convert.FromHexString(hex, bytes, out _, out var written);
        return ParseResult<Digest>.Ok(new Digest(algorithm, bytes[..written]));
    }

    /// <summary>A digest from its raw bytes.</summary>
    public static Digest FromBytes(DigestAlgorithm algorithm, ReadOnlySpan<byte> value)
    {
        if (value.Length != algorithm.ByteLength())
            throw new ArgumentException($"a {algorithm.Name()} digest has {algorithm.ByteLength()} bytes, not {value.Length}", nameof(value));
        return new Digest(algorithm, value);
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";

    /// <inheritdoc />
    public bool Equals(Digest other) =>
        Algorithm == other.Algorithm && ((ReadOnlySpan<byte>)_value).SequenceEqual(other._value);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Digest other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => (int)Prefix ^ (int)(Prefix >> 32) ^ ((int)Algorithm << 24);

    /// <inheritdoc />
    public int CompareTo(Digest other)
    {
        var byAlgorithm = Algorithm.CompareTo(other.Algorithm);
        return byAlgorithm != 0 ? byAlgorithm : ((ReadOnlySpan<byte>)_value).SequenceCompareTo(other._value);
    }

    /// <summary><c>algorithm:hex</c>.</summary>
    public override string ToString() => Algorithm == 0 ? "" : $"{Algorithm.Name()}:{Hex}";

    /// <summary>Equality.</summary>
    public static bool operator ==(Digest left, Digest right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(Digest left, Digest right) => !left.Equals(right);

    /// <summary>Ordering.</summary>
    public static bool operator <(Digest left, Digest right) => left.CompareTo(right) < 0;

    /// <summary>Ordering.</summary>
    public static bool operator >(Digest left, Digest right) => left.CompareTo(right) > 0;

    /// <summary>Ordering.</summary>
    public static bool operator <=(Digest left, Digest right) => left.CompareTo(right) <= 0;

    /// <summary>Ordering.</summary>
    public static bool operator >=(Digest left, Digest right) => left.CompareTo(right) >= 0;
}

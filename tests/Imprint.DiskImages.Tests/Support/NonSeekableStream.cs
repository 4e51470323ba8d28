namespace Imprint.DiskImages.Tests.Support;

/// <summary>A stream that cannot seek and returns short reads, like a body downloaded over HTTP.</summary>
internal sealed class NonSeekableStream(Stream inner) : ReadOnlyStream
{
    public override int Read(Span<byte> buffer) => inner.Read(buffer[..Math.Min(buffer.Length, 100_000)]);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.ReadAsync(buffer[..Math.Min(buffer.Length, 100_000)], cancellationToken);
}

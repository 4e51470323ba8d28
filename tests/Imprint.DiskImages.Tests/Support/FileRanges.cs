namespace Imprint.DiskImages.Tests.Support;

/// <summary>
/// A local file served the way a cloud serves a download with HTTP Range: each range a stream of its own, read in
/// short pieces. Counts what was asked for, and can break off after a number of bytes like a dropped connection.
/// </summary>
internal sealed class FileRanges(string path, long breakAfter = long.MaxValue) : IByteRanges
{
    private long _served;

    public long Length { get; } = new FileInfo(path).Length;

    public int Requests { get; private set; }

    public long BytesServed => Interlocked.Read(ref _served);

    public Task<Stream> OpenAsync(long offset, long count, CancellationToken cancellationToken)
    {
        if (offset < 0 || count <= 0 || offset + count > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes {offset}+{count} of a {Length}-byte file");
        Requests++;
        var file = File.OpenRead(path);
        file.Position = offset;
        return Task.FromResult<Stream>(new RangeStream(this, file, count));
    }

    /// <summary>Counts what it serves and throws once the file as a whole has served more than <c>breakAfter</c> bytes.</summary>
    private int Serve(int wanted) =>
        Interlocked.Add(ref _served, wanted) > breakAfter ? throw new IOException("the connection was reset by the peer") : wanted;

    private sealed class RangeStream(FileRanges owner, FileStream file, long count) : ReadOnlyStream
    {
        private long _left = count;

        public override int Read(Span<byte> buffer)
        {
            var wanted = (int)Math.Min(Math.Min(buffer.Length, 100_000), _left);
            if (wanted == 0)
                return 0;
            var read = file.Read(buffer[..owner.Serve(wanted)]);
            _left -= read;
            return read;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                file.Dispose();
            base.Dispose(disposing);
        }
    }
}

namespace Imprint.DiskImages.Formats;

/// <summary>
/// One open range of an <see cref="IByteRanges"/>: the one place where the source's failures become
/// <see cref="ImageSourceException"/>s naming the bytes: it cannot be opened, a read fails, or it ends before the range
/// does. Cancelling closes it, so that a blocked synchronous read ends too.
/// </summary>
internal sealed class SourceRange : ReadOnlyStream
{
    private readonly Stream _stream;
    private readonly long _end;
    private readonly long _fileLength;
    private readonly CancellationToken _cancellationToken;
    private readonly CancellationTokenRegistration _closeOnCancel;

    private SourceRange(Stream stream, long offset, long count, long fileLength, CancellationToken cancellationToken)
    {
        _stream = stream;
        Offset = offset;
        _end = offset + count;
        _fileLength = fileLength;
        _cancellationToken = cancellationToken;
        _closeOnCancel = cancellationToken.Register(static s => ((Stream)s!).Dispose(), stream);
    }

    /// <summary>The file offset of the next byte this range gives.</summary>
    public long Offset { get; private set; }

    public static async Task<SourceRange> OpenAsync(IByteRanges source, long offset, long count, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return new SourceRange(await source.OpenAsync(offset, count, cancellationToken), offset, count, source.Length, cancellationToken);
        }
        catch (Exception e) when (e is not (OperationCanceledException or ImageSourceException))
        {
            throw new ImageSourceException($"cannot read bytes {offset}–{offset + count - 1} of the image: {e.Message}", e);
        }
    }

    public override int Read(Span<byte> buffer)
    {
        if (Offset == _end || buffer.IsEmpty)
            return 0;
        int read;
        try
        {
            read = _stream.Read(buffer[..(int)Math.Min(buffer.Length, _end - Offset)]);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw BrokeOff(e);
        }
        return Advance(read);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Offset == _end || buffer.IsEmpty)
            return 0;
        int read;
        try
        {
            read = await _stream.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _end - Offset)], cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw BrokeOff(e);
        }
        return Advance(read);
    }

    private int Advance(int read)
    {
        if (read == 0)
            throw new ImageSourceException($"the download of the image ended at byte {Offset} of {_fileLength}");
        Offset += read;
        return read;
    }

    private Exception BrokeOff(Exception e)
    {
        // A read that failed because cancelling closed the stream under it is the cancellation.
        _cancellationToken.ThrowIfCancellationRequested();
        return new ImageSourceException($"the download of the image broke off at byte {Offset} of {_fileLength}: {e.Message}", e);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _closeOnCancel.Dispose();
            _stream.Dispose();
        }
        base.Dispose(disposing);
    }
}

namespace Imprint.DiskImages.Formats;

/// <summary>
/// Reads an image through byte ranges of a download, keeping no copy of it. Guest data comes through one stream read
/// front to back, which moves on past a short gap by reading through it and starts a new range only for a jump back or
/// a long jump ahead; headers and tables come through small ranges of their own, kept in a few pages, so that reading a
/// table does not break off the data stream. One thread at a time. A failure of the source is an
/// <see cref="ImageSourceException"/>, never a verdict on the image.
/// </summary>
internal sealed class RangedReader : IPositionalReader, IDisposable
{
    private const int PageSize = 256 << 10;
    private const int MaxPages = 64;
    private const long MaxSkip = 4 << 20;

    private readonly IByteRanges _source;
    private readonly CancellationToken _cancellationToken;
    private readonly Dictionary<long, byte[]> _pages = [];
    private readonly Queue<long> _pageOrder = new();
    private Range? _data;
    private long _dataPosition;
    private byte[]? _skip;

    /// <summary>
    /// Goes on with a range of the whole file already open, of which <paramref name="start"/> (its first bytes) has been
    /// read: those are kept as pages, and the range goes on serving the data that follows them.
    /// </summary>
    public RangedReader(IByteRanges source, Stream opened, ReadOnlySpan<byte> start, CancellationToken cancellationToken)
    {
        _source = source;
        _cancellationToken = cancellationToken;
        _data = new Range(opened, owned: false, cancellationToken.Register(static s => ((Stream)s!).Dispose(), opened));
        _dataPosition = start.Length;
        for (long page = 0; page * PageSize < start.Length && _pages.Count < MaxPages; page++)
        {
            var bytes = start.Slice((int)(page * PageSize), (int)Math.Min(PageSize, start.Length - (page * PageSize)));
            // A short last page is kept only where the file ends there: a page is always whole.
            if (bytes.Length == PageSize || start.Length == _source.Length)
                Keep(page, bytes.ToArray());
        }
    }

    public int Read(Span<byte> destination, long offset, bool table)
    {
        if (offset < 0 || offset >= _source.Length || destination.IsEmpty)
            return 0;
        destination = destination[..(int)Math.Min(destination.Length, _source.Length - offset)];
        if (table)
            ReadTable(destination, offset);
        else
            ReadData(destination, offset);
        return destination.Length;
    }

    private void ReadData(Span<byte> destination, long offset)
    {
        // What was read as pages (the file's start, tables) is not fetched again.
        while (!destination.IsEmpty && _pages.ContainsKey(offset / PageSize))
        {
            var copied = CopyFromPage(offset / PageSize, destination, offset);
            destination = destination[copied..];
            offset += copied;
        }
        if (destination.IsEmpty)
            return;
        if (_data is null || offset < _dataPosition || offset - _dataPosition > MaxSkip)
        {
            _data?.Dispose();
            _data = Open(offset, _source.Length - offset);
            _dataPosition = offset;
        }
        while (_dataPosition < offset)
        {
            _skip ??= new byte[64 << 10];
            _dataPosition += Fill(_data.Stream, _skip.AsSpan(0, (int)Math.Min(_skip.Length, offset - _dataPosition)), _dataPosition);
        }
        _dataPosition += Fill(_data.Stream, destination, _dataPosition);
    }

    private void ReadTable(Span<byte> destination, long offset)
    {
        // A table too large for the pages (a vast disk's L1 or BAT) is read straight into place.
        if (destination.Length > PageSize * (MaxPages / 4))
        {
            using var range = Open(offset, destination.Length);
            Fill(range.Stream, destination, offset);
            return;
        }
        var first = offset / PageSize;
        var last = (offset + destination.Length - 1) / PageSize;
        for (var page = first; page <= last; page++)
        {
            if (!_pages.ContainsKey(page))
                FetchPages(page, last);
            CopyFromPage(page, destination, offset);
        }
    }

    /// <summary>Copies the part of [offset, offset + destination.Length) that the page holds; returns its length.</summary>
    private int CopyFromPage(long page, Span<byte> destination, long offset)
    {
        var bytes = _pages[page];
        var pageStart = page * PageSize;
        var from = Math.Max(offset, pageStart);
        var to = Math.Min(offset + destination.Length, pageStart + bytes.Length);
        bytes.AsSpan((int)(from - pageStart), (int)(to - from)).CopyTo(destination[(int)(from - offset)..]);
        return (int)(to - from);
    }

    private void Keep(long page, byte[] bytes)
    {
        while (_pages.Count >= MaxPages && _pageOrder.TryDequeue(out var old))
            _pages.Remove(old);
        _pages[page] = bytes;
        _pageOrder.Enqueue(page);
    }

    /// <summary>Fetches, in one range, the pages from <paramref name="first"/> up to <paramref name="last"/> or the first one already held.</summary>
    private void FetchPages(long first, long last)
    {
        var end = first;
        while (end < last && !_pages.ContainsKey(end + 1))
            end++;
        var start = first * PageSize;
        var length = Math.Min((end + 1) * PageSize, _source.Length) - start;
        using var range = Open(start, length);
        for (var page = first; page <= end; page++)
        {
            var pageStart = page * PageSize;
            var bytes = new byte[Math.Min(PageSize, _source.Length - pageStart)];
            Fill(range.Stream, bytes, pageStart);
            Keep(page, bytes);
        }
    }

    private Range Open(long offset, long count)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        try
        {
            // Blocking here is the price of the readers' synchronous reads; this runs on a thread of its own.
            var stream = _source.OpenAsync(offset, count, _cancellationToken).GetAwaiter().GetResult();
            // A synchronous read does not watch the token: cancelling closes the stream under it.
            return new Range(stream, owned: true, _cancellationToken.Register(static s => ((Stream)s!).Dispose(), stream));
        }
        catch (Exception e) when (e is not (OperationCanceledException or ImageSourceException))
        {
            throw new ImageSourceException($"cannot read bytes {offset}–{offset + count - 1} of the image: {e.Message}", e);
        }
    }

    /// <summary>Reads exactly <paramref name="destination"/> from the stream, whose first byte is at file offset <paramref name="at"/>.</summary>
    private int Fill(Stream stream, Span<byte> destination, long at)
    {
        var done = 0;
        while (done < destination.Length)
        {
            int read;
            try
            {
                read = stream.Read(destination[done..]);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _cancellationToken.ThrowIfCancellationRequested();
                throw new ImageSourceException($"the download of the image broke off at byte {at + done} of {_source.Length}: {e.Message}", e);
            }
            if (read == 0)
                throw new ImageSourceException($"the download of the image ended at byte {at + done} of {_source.Length}");
            done += read;
        }
        return done;
    }

    public void Dispose()
    {
        _data?.Dispose();
        _data = null;
    }

    /// <summary>An open range; <paramref name="owned"/>: this reader opened it, and closes it.</summary>
    private sealed class Range(Stream stream, bool owned, CancellationTokenRegistration registration) : IDisposable
    {
        public Stream Stream => stream;

        public void Dispose()
        {
            registration.Dispose();
            if (owned)
                stream.Dispose();
        }
    }
}

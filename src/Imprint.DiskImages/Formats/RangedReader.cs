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
    private SourceRange? _data;
    private byte[]? _skip;

    /// <summary>
    /// Goes on with a range of the whole file already open, of which <paramref name="start"/> (its first bytes) has been
    /// read: those are kept as pages, and the range goes on serving the data that follows them. The reader owns the range.
    /// </summary>
    public RangedReader(IByteRanges source, SourceRange opened, ReadOnlySpan<byte> start, CancellationToken cancellationToken)
    {
        _source = source;
        _cancellationToken = cancellationToken;
        _data = opened;
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
        if (_data is null || offset < _data.Offset || offset - _data.Offset > MaxSkip)
        {
            _data?.Dispose();
            _data = Open(offset, _source.Length - offset);
        }
        while (_data.Offset < offset)
        {
            _skip ??= new byte[64 << 10];
            _data.ReadExactly(_skip.AsSpan(0, (int)Math.Min(_skip.Length, offset - _data.Offset)));
        }
        _data.ReadExactly(destination);
    }

    private void ReadTable(Span<byte> destination, long offset)
    {
        // A table too large for the pages (a vast disk's L1 or BAT) is read straight into place.
        if (destination.Length > PageSize * (MaxPages / 4))
        {
            using var range = Open(offset, destination.Length);
            range.ReadExactly(destination);
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
            range.ReadExactly(bytes);
            Keep(page, bytes);
        }
    }

    // Blocking here is the price of the readers' synchronous reads; this runs on a thread of its own.
    private SourceRange Open(long offset, long count) =>
        SourceRange.OpenAsync(_source, offset, count, _cancellationToken).GetAwaiter().GetResult();

    public void Dispose()
    {
        _data?.Dispose();
        _data = null;
    }
}

using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using Imprint.Core.Digests;
using Imprint.DiskImages.Formats;
using Microsoft.Win32.SafeHandles;

namespace Imprint.DiskImages.Pipeline;

/// <summary>
/// One run of the fingerprinting pipeline: a sequential reader feeds the file digests, and one worker per core
/// reads guest blocks through the format's reader and hashes them into the content digest. Both sides run at
/// once, so the file is read while it is still in the page cache. A small image, or a file whose caller asks for
/// it, is hashed the same way on the calling thread, without starting any.
/// </summary>
internal sealed class FingerprintPipeline : IDisposable
{
    /// <summary>
    /// Up to this size (file and disk) an image is hashed on the calling thread. Starting the pipeline's threads and
    /// handing chunks between them costs about 1.7 ms of CPU per image (10,000 raw files of 64 KiB: 17 s of CPU through
    /// the pipeline, 2.6 s inline), as much as hashing half a MiB four ways; up to 4 MiB (13 ms on one core) the threads
    /// would save one image a few ms at most.
    /// </summary>
    public const long DefaultInlineLimit = 4 << 20;

    private const int ChunksInFlight = 16;

    private readonly FingerprintOptions _options;
    private readonly IReadOnlyList<DigestAlgorithm> _algorithms;
    private readonly FileDigester _fileDigester;
    private ChunkPool? _pool;
    private CancellationTokenSource _stop = new();
    private CancellationToken _callerToken;
    private ContentHasher? _content;
    private ExceptionDispatchInfo? _failure;
    private long _nextBlock;
    private long _reported;

    public FingerprintPipeline(FingerprintOptions options)
    {
        _options = options;
        _algorithms = options.Algorithms.Distinct().ToList();
        _fileDigester = new FileDigester(_algorithms);
    }

    /// <summary>Links the run's stop signal to the caller's token: a failure anywhere stops every task, and so does the caller.</summary>
    private CancellationToken Begin(CancellationToken cancellationToken)
    {
        _callerToken = cancellationToken;
        _stop.Dispose();
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        return _stop.Token;
    }

    // Made on first use: 16 chunks of 2 MiB that an image hashed inline never needs.
    private ChunkPool Pool => _pool ??= new ChunkPool(ChunksInFlight);

    private bool WantsContent => _algorithms.Contains(DigestAlgorithm.DiskSha256);

    private static int Workers => Math.Max(1, Environment.ProcessorCount);

    /// <summary>Fingerprints a file that supports positional reads.</summary>
    public async Task<FingerprintResult> RunSeekableAsync(SafeFileHandle handle, long length, CancellationToken cancellationToken)
    {
        var stop = Begin(cancellationToken);
        var file = new ImageFile(handle, length);
        DiskImage image;
        try
        {
            image = ImageOpener.Open(file, _options.Format);
        }
        catch (InvalidImageException e)
        {
            return new FingerprintResult(null, e.Message);
        }

        if (_options.OnCallingThread || (length <= _options.InlineLimit && image.VirtualSize <= _options.InlineLimit))
            return RunInline(image, length, cancellationToken);

        if (image.Format == "raw" && _fileDigester.Count > 0)
        {
            // Both sides need every byte: read once and share the chunks, instead of reading twice.
            long position = 0;
            async Task ReadNext(Chunk chunk, CancellationToken token)
            {
                while (chunk.Length < ChunkPool.ChunkSize && position < length)
                {
                    var read = await RandomAccess.ReadAsync(handle, chunk.Buffer.AsMemory(chunk.Length, (int)Math.Min(ChunkPool.ChunkSize - chunk.Length, length - position)), position, token);
                    if (read == 0)
                        break;
                    chunk.Length += read;
                    position += read;
                }
            }
            var first = await Pool.RentAsync(stop);
            await ReadNext(first, stop);
            return await RunRawSharedAsync(ReadNext, first, length, _fileDigester.Start(stop).Select(Guard).ToList(), stop);
        }

        var tasks = new List<Task>();
        if (_fileDigester.Count > 0)
        {
            tasks.AddRange(_fileDigester.Start(stop).Select(Guard));
            tasks.Add(Guard(ProduceFromFileAsync(handle, length, stop)));
        }
        if (WantsContent)
            tasks.AddRange(StartContentWorkers(image, reportProgress: _fileDigester.Count == 0, stop));
        await Task.WhenAll(tasks);
        return Finish(image.Format, image.VirtualSize, length);
    }

    /// <summary>
    /// An image hashed on the calling thread, the way the threaded paths do it: raw bytes read once for the file digests
    /// and the leaves; other formats read once for the file digests, then block by block through the reader.
    /// </summary>
    private FingerprintResult RunInline(DiskImage image, long length, CancellationToken cancellationToken)
    {
        var shared = image.Format == "raw" && _fileDigester.Count > 0;
        var buffer = ArrayPool<byte>.Shared.Rent(ContentHasher.BlockSize);
        long total = 0;
        try
        {
            if (_fileDigester.Count > 0)
            {
                if (shared && WantsContent)
                    _content = new ContentHasher(length);
                Span<byte> leaf = stackalloc byte[32];
                while (total < length)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var wanted = (int)Math.Min(ContentHasher.BlockSize, length - total);
                    var block = buffer.AsSpan(0, wanted);
                    var got = image.File.ReadUpTo(total, block);
                    if (got < wanted)
                    {
                        // The same messages as the threaded paths give.
                        throw new InvalidImageException(shared
                            ? $"the file changed size while being read ({total + got} of {length} bytes)"
                            : $"the file shrank while being read (at {total + got} of {length} bytes)");
                    }
                    if (wanted == length)
                    {
                        // The whole file in one block: one call per algorithm, and the leaf of a raw disk of one
                        // block is the file's sha256, which need not be computed twice.
                        if (!_fileDigester.HashWhole(block, leaf) && _content is not null)
                            ContentHasher.Leaf(block, leaf);
                    }
                    else
                    {
                        _fileDigester.Append(block);
                        if (_content is not null)
                            ContentHasher.Leaf(block, leaf);
                    }
                    _content?.Add(total / ContentHasher.BlockSize, leaf);
                    total += wanted;
                    Report(total);
                }
            }
            if (WantsContent && !shared)
            {
                _content = new ContentHasher(image.VirtualSize);
                HashImageBlocks(image, (image.VirtualSize + ContentHasher.BlockSize - 1) / ContentHasher.BlockSize,
                    reportProgress: _fileDigester.Count == 0, cancellationToken);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _failure = ExceptionDispatchInfo.Capture(e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return Finish(image.Format, image.VirtualSize, length);
    }

    /// <summary>
    /// Fingerprints an image read through byte ranges (a download), starting with one range of the whole file: raw
    /// content streams on through the threaded path; other formats go on, on a thread of their own, through a
    /// <see cref="RangedReader"/> that keeps reading that range front to back and asks for others only where the layout
    /// jumps. A failure of the source is thrown as an <see cref="ImageSourceException"/>, never given as a verdict on the image.
    /// </summary>
    public async Task<FingerprintResult> RunRangedAsync(IByteRanges source, CancellationToken cancellationToken)
    {
        var stop = Begin(cancellationToken);
        var length = source.Length;
        var range = await SourceRange.OpenAsync(source, 0, length, stop);
        await using (range)
        {
            var first = await Pool.RentAsync(stop);
            await FillAsync(range, first, stop);
            // Without a magic the bytes are raw (a fixed VHD, whose only mark is its footer, needs Format = "vhd").
            var format = _options.Format ?? ImageOpener.DetectByMagic(first.Data) ?? "raw";
            if (format == "raw")
                return await RunRawSharedAsync((chunk, token) => FillAsync(range, chunk, token), first, length, _fileDigester.Start(stop).Select(Guard).ToList(), stop);

            using var reader = new RangedReader(source, range, first.Data, cancellationToken);
            // The reader keeps the first bytes as pages of its own: the chunk goes back to the pool.
            first.Retain(1);
            first.Release();
            var file = new ImageFile(reader, length);
            return await Task.Factory.StartNew(() =>
            {
                DiskImage image;
                try
                {
                    image = ImageOpener.Open(file, format);
                }
                catch (InvalidImageException e)
                {
                    return new FingerprintResult(null, e.Message);
                }
                return RunInline(image, length, cancellationToken);
            }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
    }

    /// <summary>Fingerprints a stream that cannot seek: raw streams through; other formats are spooled to a temporary file first.</summary>
    public async Task<FingerprintResult> RunStreamAsync(Stream stream, CancellationToken cancellationToken)
    {
        var stop = Begin(cancellationToken);
        var first = await Pool.RentAsync(stop);
        await FillAsync(stream, first, stop);
        var format = _options.Format ?? ImageOpener.DetectByMagic(first.Data) ?? "raw";
        var laneTasks = _fileDigester.Start(stop).Select(Guard).ToList();
        return format == "raw"
            ? await RunRawSharedAsync((chunk, token) => FillAsync(stream, chunk, token), first, null, laneTasks, stop)
            : await RunSpooledAsync(stream, first, laneTasks, stop);
    }

    /// <summary>
    /// Raw content read once: every chunk feeds the file digests and is cut into blocks for the content workers.
    /// <paramref name="knownSize"/> is null for a stream, whose size is known only at its end.
    /// </summary>
    private async Task<FingerprintResult> RunRawSharedAsync(
        Func<Chunk, CancellationToken, Task> fill, Chunk first, long? knownSize, List<Task> laneTasks, CancellationToken cancellationToken)
    {
        using var blocks = new BlockingCollection<(Chunk Chunk, long Index, int Offset, int Length)>();
        var tasks = new List<Task>(laneTasks);
        if (WantsContent)
        {
            _content = new ContentHasher(knownSize);
            for (var i = 0; i < Workers; i++)
                tasks.Add(Guard(Task.Factory.StartNew(() => HashStreamedBlocks(blocks, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)));
        }
        long total = 0;
        long blockIndex = 0;
        var producer = Guard(Task.Run(async () =>
        {
            var chunk = first;
            try
            {
                while (true)
                {
                    var length = chunk.Length;
                    var blockCount = WantsContent ? (length + ContentHasher.BlockSize - 1) / ContentHasher.BlockSize : 0;
                    chunk.Retain(1 + _fileDigester.Count + blockCount);
                    _fileDigester.Post(chunk);
                    for (var b = 0; b < blockCount; b++)
                    {
                        var offset = b * ContentHasher.BlockSize;
                        blocks.Add((chunk, blockIndex++, offset, Math.Min(ContentHasher.BlockSize, length - offset)), cancellationToken);
                    }
                    chunk.Release();
                    total += length;
                    Report(total);
                    if (length < ChunkPool.ChunkSize)
                        break;
                    chunk = await Pool.RentAsync(cancellationToken);
                    await fill(chunk, cancellationToken);
                }
            }
            finally
            {
                _fileDigester.Complete();
                blocks.CompleteAdding();
            }
        }, CancellationToken.None)); // Always start: its finally completes the queues the consumers wait on.
        tasks.Add(producer);
        await Task.WhenAll(tasks);
        if (knownSize is { } size && _failure is null && total != size)
            Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(new InvalidImageException($"the file changed size while being read ({total} of {size} bytes)")), null);
        return Finish("raw", total, total);
    }

    private void HashStreamedBlocks(BlockingCollection<(Chunk Chunk, long Index, int Offset, int Length)> blocks, CancellationToken cancellationToken)
    {
        Span<byte> leaf = stackalloc byte[32];
        foreach (var (chunk, index, offset, length) in blocks.GetConsumingEnumerable(cancellationToken))
        {
            try
            {
                ContentHasher.Leaf(chunk.Buffer.AsSpan(offset, length), leaf);
            }
            finally
            {
                chunk.Release();
            }
            _content!.Add(index, leaf);
        }
    }

    private async Task<FingerprintResult> RunSpooledAsync(Stream stream, Chunk first, List<Task> laneTasks, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Path.GetTempPath(), $"imprint-spool-{Guid.NewGuid():N}");
        await using var spool = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, 1, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        long total = 0;
        var producer = Guard(Task.Run(async () =>
        {
            var chunk = first;
            try
            {
                while (true)
                {
                    var length = chunk.Length;
                    await RandomAccess.WriteAsync(spool.SafeFileHandle, chunk.Buffer.AsMemory(0, length), total, cancellationToken);
                    chunk.Retain(1 + _fileDigester.Count);
                    _fileDigester.Post(chunk);
                    chunk.Release();
                    total += length;
                    Report(total);
                    if (length < ChunkPool.ChunkSize)
                        break;
                    chunk = await Pool.RentAsync(cancellationToken);
                    await FillAsync(stream, chunk, cancellationToken);
                }
            }
            finally
            {
                _fileDigester.Complete();
            }
        }, CancellationToken.None)); // Always start: its finally completes the queues the consumers wait on.
        await Task.WhenAll(laneTasks.Append(producer));
        if (_failure is not null || _callerToken.IsCancellationRequested)
            return Finish("", 0, 0);

        var file = new ImageFile(spool.SafeFileHandle, total);
        DiskImage image;
        try
        {
            image = ImageOpener.Open(file, _options.Format);
        }
        catch (InvalidImageException e)
        {
            return new FingerprintResult(null, e.Message);
        }
        if (WantsContent)
            await Task.WhenAll(StartContentWorkers(image, reportProgress: false, cancellationToken));
        return Finish(image.Format, image.VirtualSize, total);
    }

    private async Task ProduceFromFileAsync(SafeFileHandle handle, long length, CancellationToken cancellationToken)
    {
        try
        {
            long offset = 0;
            while (offset < length)
            {
                var chunk = await Pool.RentAsync(cancellationToken);
                var wanted = (int)Math.Min(ChunkPool.ChunkSize, length - offset);
                while (chunk.Length < wanted)
                {
                    var read = await RandomAccess.ReadAsync(handle, chunk.Buffer.AsMemory(chunk.Length, wanted - chunk.Length), offset + chunk.Length, cancellationToken);
                    if (read == 0)
                        throw new InvalidImageException($"the file shrank while being read (at {offset + chunk.Length} of {length} bytes)");
                    chunk.Length += read;
                }
                chunk.Retain(_fileDigester.Count);
                _fileDigester.Post(chunk);
                offset += wanted;
                Report(offset);
            }
        }
        finally
        {
            _fileDigester.Complete();
        }
    }

    private IEnumerable<Task> StartContentWorkers(DiskImage image, bool reportProgress, CancellationToken cancellationToken)
    {
        _content = new ContentHasher(image.VirtualSize);
        var blocks = (image.VirtualSize + ContentHasher.BlockSize - 1) / ContentHasher.BlockSize;
        var tasks = new List<Task>();
        for (var i = 0; i < Workers; i++)
        {
            tasks.Add(Guard(Task.Factory.StartNew(
                () => HashImageBlocks(image, blocks, reportProgress, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)));
        }
        return tasks;
    }

    private void HashImageBlocks(DiskImage image, long blocks, bool reportProgress, CancellationToken cancellationToken)
    {
        var context = image.CreateContext();
        var buffer = ArrayPool<byte>.Shared.Rent(ContentHasher.BlockSize);
        Span<byte> leaf = stackalloc byte[32];
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // Handing out indexes in increasing order is what lets the hasher's window never deadlock.
                var index = Interlocked.Increment(ref _nextBlock) - 1;
                if (index >= blocks)
                    break;
                var offset = index * ContentHasher.BlockSize;
                var block = buffer.AsSpan(0, (int)Math.Min(ContentHasher.BlockSize, image.VirtualSize - offset));
                if (image.Read(offset, block, context))
                {
                    ContentHasher.Leaf(block, leaf);
                }
                else if (block.Length == ContentHasher.BlockSize)
                {
                    var run = ClaimZeroRun(image, index, context);
                    if (run > 1)
                    {
                        _content!.AddZeroRun(index, run);
                        continue;
                    }
                    ContentHasher.ZeroLeaf.CopyTo(leaf);
                }
                else
                {
                    block.Clear();
                    SHA256.HashData(block, leaf);
                }
                _content!.Add(index, leaf);
                if (reportProgress && (index & 15) == 0)
                    Report(image.File.Length * index / blocks);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// After block <paramref name="index"/> turned out to be all zeros from the tables, claims the whole zero blocks
    /// that follow it in the same zero extents (up to 1 TiB), so that a vast sparse disk costs one claim per run
    /// instead of one per MiB. Returns how many blocks from <paramref name="index"/> on the caller now owns.
    /// </summary>
    private long ClaimZeroRun(DiskImage image, long index, ReadContext context)
    {
        const int MaxMaps = 4096;
        var start = index * ContentHasher.BlockSize;
        var limit = Math.Min(image.VirtualSize, start + (1L << 40));
        var end = start;
        for (var maps = 0; maps < MaxMaps && end < limit; maps++)
        {
            var extent = image.Map(end, context);
            if (extent.Kind != ExtentKind.Zero)
                break;
            end = extent.End;
        }
        var lastBlock = Math.Min(end, limit) / ContentHasher.BlockSize;
        if (lastBlock <= index + 1)
            return 1;
        // Only if no other worker took the next block meanwhile; otherwise just this one block is ours.
        return Interlocked.CompareExchange(ref _nextBlock, lastBlock, index + 1) == index + 1 ? lastBlock - index : 1;
    }

    private static async Task FillAsync(Stream stream, Chunk chunk, CancellationToken cancellationToken)
    {
        while (chunk.Length < ChunkPool.ChunkSize)
        {
            var read = await stream.ReadAsync(chunk.Buffer.AsMemory(chunk.Length, ChunkPool.ChunkSize - chunk.Length), cancellationToken);
            if (read == 0)
                break;
            chunk.Length += read;
        }
    }

    private void Report(long bytes)
    {
        if (_options.Progress is null)
            return;
        // Several workers report; only forward values that move forward.
        var previous = Volatile.Read(ref _reported);
        while (bytes > previous)
        {
            var seen = Interlocked.CompareExchange(ref _reported, bytes, previous);
            if (seen == previous)
            {
                _options.Progress.Report(bytes);
                return;
            }
            previous = seen;
        }
    }

    /// <summary>Records the first failure of any task and stops the others; never lets a task fault.</summary>
    private async Task Guard(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception e)
        {
            var isCancellation = e is OperationCanceledException;
            // A cancellation that follows another task's failure is an echo of it, not a cause.
            if (!isCancellation || _callerToken.IsCancellationRequested)
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            await _stop.CancelAsync();
            _content?.Cancel();
        }
    }

    private FingerprintResult Finish(string format, long virtualSize, long fileSize)
    {
        _callerToken.ThrowIfCancellationRequested();
        if (_failure is { } failure)
        {
            return failure.SourceException switch
            {
                InvalidImageException invalid => new FingerprintResult(null, invalid.Message),
                IOException io => new FingerprintResult(null, $"read error: {io.Message}"),
                _ => Rethrow(failure),
            };
        }
        var digests = new List<Digest>(_algorithms.Count);
        foreach (var algorithm in _algorithms)
        {
            digests.Add(algorithm == DigestAlgorithm.DiskSha256
                ? Digest.FromBytes(algorithm, _content!.Finish(virtualSize))
                : Digest.FromBytes(algorithm, _fileDigester.Result(algorithm)));
        }
        return new FingerprintResult(new ImageFingerprint(format, virtualSize, fileSize, digests), null);
    }

    private static FingerprintResult Rethrow(ExceptionDispatchInfo failure)
    {
        failure.Throw();
        return null!;
    }

    public void Dispose()
    {
        _fileDigester.Dispose();
        _content?.Dispose();
        _pool?.Dispose();
        _stop.Dispose();
    }
}

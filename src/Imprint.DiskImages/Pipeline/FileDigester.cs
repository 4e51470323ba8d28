using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Imprint.Core.Digests;

namespace Imprint.DiskImages.Pipeline;

/// <summary>A pooled buffer shared by several consumers; it goes back to the pool when the last one is done.</summary>
internal sealed class Chunk
{
    private readonly ChunkPool _pool;
    private int _references;

    public Chunk(ChunkPool pool, byte[] buffer)
    {
        _pool = pool;
        Buffer = buffer;
    }

    public byte[] Buffer { get; }

    public int Length { get; set; }

    public ReadOnlySpan<byte> Data => Buffer.AsSpan(0, Length);

    public void Retain(int count) => Interlocked.Add(ref _references, count);

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
            _pool.Return(this);
    }
}

/// <summary>
/// A fixed number of chunks: the producer waits when every chunk is in flight, which bounds memory
/// (chunks × chunk size) and keeps a fast reader from running ahead of slow hashes.
/// </summary>
internal sealed class ChunkPool : IDisposable
{
    public const int ChunkSize = 2 << 20;
    private readonly ConcurrentBag<Chunk> _free = [];
    private readonly SemaphoreSlim _available;

    public ChunkPool(int count)
    {
        _available = new SemaphoreSlim(count, count);
        for (var i = 0; i < count; i++)
            _free.Add(new Chunk(this, ArrayPool<byte>.Shared.Rent(ChunkSize)));
    }

    public async ValueTask<Chunk> RentAsync(CancellationToken cancellationToken)
    {
        await _available.WaitAsync(cancellationToken);
        if (!_free.TryTake(out var chunk))
            throw new InvalidOperationException("chunk pool out of step with its semaphore");
        chunk.Length = 0;
        return chunk;
    }

    public void Return(Chunk chunk)
    {
        _free.Add(chunk);
        _available.Release();
    }

    public void Dispose()
    {
        while (_free.TryTake(out var chunk))
            ArrayPool<byte>.Shared.Return(chunk.Buffer);
        _available.Dispose();
    }
}

/// <summary>
/// The file digests (md5, sha1, sha256, sha512 of the file's bytes). Each algorithm hashes on its own thread from a
/// queue of shared chunks, so the slowest one sets the pace instead of the sum of all.
/// </summary>
internal sealed class FileDigester : IDisposable
{
    private readonly List<Lane> _lanes = [];

    public FileDigester(IEnumerable<DigestAlgorithm> algorithms)
    {
        foreach (var algorithm in algorithms.Where(a => a.IsFileDigest()).Distinct())
            _lanes.Add(new Lane(algorithm));
    }

    public int Count => _lanes.Count;

    public IReadOnlyList<Task> Start(CancellationToken cancellationToken)
    {
        var tasks = new List<Task>(_lanes.Count);
        foreach (var lane in _lanes)
        {
            lane.Open();
            tasks.Add(Task.Factory.StartNew(() => lane.Run(cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        }
        return tasks;
    }

    /// <summary>Queues a chunk to every algorithm; the caller has retained it once per algorithm.</summary>
    public void Post(Chunk chunk)
    {
        foreach (var lane in _lanes)
            lane.Queue.Add(chunk);
    }

    /// <summary>Hashes bytes on the calling thread, for a run that starts no lanes.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        foreach (var lane in _lanes)
            lane.Hash.AppendData(data);
    }

    /// <summary>
    /// Hashes a whole file, held in <paramref name="file"/>, on the calling thread in one call per algorithm. Returns
    /// whether sha256 was one of them, and if so writes it to <paramref name="sha256"/>.
    /// </summary>
    public bool HashWhole(ReadOnlySpan<byte> file, Span<byte> sha256)
    {
        var found = false;
        foreach (var lane in _lanes)
        {
            lane.Whole = lane.Algorithm switch
            {
                DigestAlgorithm.Md5 => MD5.HashData(file),
                DigestAlgorithm.Sha1 => SHA1.HashData(file),
                DigestAlgorithm.Sha256 => SHA256.HashData(file),
                DigestAlgorithm.Sha512 => SHA512.HashData(file),
                _ => throw new InvalidOperationException($"{lane.Algorithm} is not a file digest"),
            };
            if (lane.Algorithm == DigestAlgorithm.Sha256)
            {
                lane.Whole.CopyTo(sha256);
                found = true;
            }
        }
        return found;
    }

    public void Complete()
    {
        foreach (var lane in _lanes)
            lane.Complete();
    }

    public byte[] Result(DigestAlgorithm algorithm)
    {
        var lane = _lanes.First(l => l.Algorithm == algorithm);
        return lane.Whole ?? lane.Hash.GetHashAndReset();
    }

    public void Dispose()
    {
        foreach (var lane in _lanes)
            lane.Dispose();
    }

    /// <summary>One algorithm. Its hash state is made on first use and its queue when its thread starts: a file hashed whole needs neither.</summary>
    private sealed class Lane(DigestAlgorithm algorithm) : IDisposable
    {
        private IncrementalHash? _hash;
        private BlockingCollection<Chunk>? _queue;

        public DigestAlgorithm Algorithm { get; } = algorithm;

        public IncrementalHash Hash => _hash ??= IncrementalHash.CreateHash(Algorithm switch
        {
            DigestAlgorithm.Md5 => HashAlgorithmName.MD5,
            DigestAlgorithm.Sha1 => HashAlgorithmName.SHA1,
            DigestAlgorithm.Sha256 => HashAlgorithmName.SHA256,
            DigestAlgorithm.Sha512 => HashAlgorithmName.SHA512,
            _ => throw new ArgumentOutOfRangeException(nameof(algorithm), Algorithm, null),
        });

        public BlockingCollection<Chunk> Queue => _queue ?? throw new InvalidOperationException("the lane was not started");

        /// <summary>Makes the queue, before the lane's thread starts.</summary>
        public void Open() => _queue = [];

        public void Complete() => _queue?.CompleteAdding();

        /// <summary>The digest of a file hashed whole, or null.</summary>
        public byte[]? Whole { get; set; }

        public void Run(CancellationToken cancellationToken)
        {
            foreach (var chunk in Queue.GetConsumingEnumerable(cancellationToken))
            {
                try
                {
                    Hash.AppendData(chunk.Data);
                }
                finally
                {
                    chunk.Release();
                }
            }
        }

        public void Dispose()
        {
            _hash?.Dispose();
            _queue?.Dispose();
        }
    }
}

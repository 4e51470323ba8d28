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

    public IEnumerable<Task> Start(CancellationToken cancellationToken) =>
        _lanes.Select(lane => Task.Factory.StartNew(() => lane.Run(cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default));

    /// <summary>Queues a chunk to every algorithm; the caller has retained it once per algorithm.</summary>
    public void Post(Chunk chunk)
    {
        foreach (var lane in _lanes)
            lane.Queue.Add(chunk);
    }

    public void Complete()
    {
        foreach (var lane in _lanes)
            lane.Queue.CompleteAdding();
    }

    public byte[] Result(DigestAlgorithm algorithm) => _lanes.First(l => l.Algorithm == algorithm).Hash.GetHashAndReset();

    public void Dispose()
    {
        foreach (var lane in _lanes)
        {
            lane.Hash.Dispose();
            lane.Queue.Dispose();
        }
    }

    private sealed class Lane(DigestAlgorithm algorithm)
    {
        public DigestAlgorithm Algorithm { get; } = algorithm;

        public IncrementalHash Hash { get; } = IncrementalHash.CreateHash(algorithm switch
        {
            DigestAlgorithm.Md5 => HashAlgorithmName.MD5,
            DigestAlgorithm.Sha1 => HashAlgorithmName.SHA1,
            DigestAlgorithm.Sha256 => HashAlgorithmName.SHA256,
            DigestAlgorithm.Sha512 => HashAlgorithmName.SHA512,
            _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, null),
        });

        public BlockingCollection<Chunk> Queue { get; } = [];

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
    }
}

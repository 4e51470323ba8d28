using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Imprint.DiskImages.Pipeline;

/// <summary>
/// Folds the leaves of disk-sha256 (DESIGN.md) into the root hash in block order, whichever order the workers
/// finish them in. Leaves wait in a fixed window, so memory does not grow with the disk; a worker that runs more
/// than a window ahead of the oldest unfinished block waits for it.
/// </summary>
internal sealed class ContentHasher : IDisposable
{
    public const int BlockSize = 1 << 20;
    private const int Window = 4096;

    /// <summary>The leaf of an all-zero full block: a constant, so sparse regions cost no hashing.</summary>
    public static readonly byte[] ZeroLeaf = SHA256.HashData(new byte[BlockSize]);

    private static readonly byte[] ZeroLeaves = MakeZeroLeaves(1024);

    private readonly IncrementalHash _root = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly int _window;
    private readonly byte[] _ring;
    private readonly bool[] _ready;
    private readonly object _gate = new();
    private readonly LeafSpool? _spool;
    private long _folded;
    private bool _cancelled;

    /// <param name="virtualSize">The disk size, or null when it is known only at the end (a raw stream): the leaves are
    /// then kept (in memory, then in a temporary file) because the size precedes them in the root hash.</param>
    public ContentHasher(long? virtualSize)
    {
        if (virtualSize is { } size)
            AppendPrefix(_root, size);
        else
            _spool = new LeafSpool();
        // A small disk needs no more slots than it has blocks: a full window is 128 KiB, on the large-object heap,
        // which a folder of many small images would allocate once per image.
        _window = virtualSize is { } known ? (int)Math.Clamp((known + BlockSize - 1) / BlockSize, 1, Window) : Window;
        _ring = new byte[_window * 32];
        _ready = new bool[_window];
    }

    private static byte[] MakeZeroLeaves(int count)
    {
        var leaves = new byte[count * 32];
        for (var i = 0; i < count; i++)
            ZeroLeaf.CopyTo(leaves, i * 32);
        return leaves;
    }

    /// <summary>Blocks folded so far.</summary>
    public long Folded => Volatile.Read(ref _folded);

    public static void AppendPrefix(IncrementalHash root, long virtualSize)
    {
        root.AppendData("imprint-disk-v1\0"u8);
        Span<byte> size = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(size, (ulong)virtualSize);
        root.AppendData(size);
    }

    /// <summary>The leaf of one block; an all-zero full block takes the constant without hashing.</summary>
    public static void Leaf(ReadOnlySpan<byte> block, Span<byte> leaf)
    {
        if (block.Length == BlockSize && !block.ContainsAnyExcept((byte)0))
            ZeroLeaf.CopyTo(leaf);
        else
            SHA256.HashData(block, leaf);
    }

    /// <summary>Hands in leaf <paramref name="index"/>. Indexes must be handed out to workers in increasing order.</summary>
    public void Add(long index, ReadOnlySpan<byte> leaf)
    {
        lock (_gate)
        {
            while (index >= _folded + _window && !_cancelled)
                Monitor.Wait(_gate);
            if (_cancelled)
                return;
            var slot = (int)(index % _window);
            leaf.CopyTo(_ring.AsSpan(slot * 32, 32));
            _ready[slot] = true;
            var advanced = false;
            while (_ready[(int)(_folded % _window)])
            {
                var next = (int)(_folded % _window);
                var folded = _ring.AsSpan(next * 32, 32);
                if (_spool is null)
                    _root.AppendData(folded);
                else
                    _spool.Write(folded);
                _ready[next] = false;
                _folded++;
                advanced = true;
            }
            if (advanced)
                Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// Hands in <paramref name="count"/> whole zero blocks from <paramref name="index"/> on, which the caller claimed in
    /// one go: their leaves are the constant, appended in bulk once every earlier leaf is folded.
    /// </summary>
    public void AddZeroRun(long index, long count)
    {
        lock (_gate)
        {
            // The smallest unfinished index never waits, so the earlier leaves always arrive.
            while (_folded != index && !_cancelled)
                Monitor.Wait(_gate);
            if (_cancelled)
                return;
            var remaining = count;
            while (remaining > 0)
            {
                var batch = (int)Math.Min(remaining, ZeroLeaves.Length / 32);
                if (_spool is null)
                    _root.AppendData(ZeroLeaves.AsSpan(0, batch * 32));
                else
                    _spool.Write(ZeroLeaves.AsSpan(0, batch * 32));
                remaining -= batch;
            }
            _folded += count;
            while (_ready[(int)(_folded % _window)])
            {
                var next = (int)(_folded % _window);
                var folded = _ring.AsSpan(next * 32, 32);
                if (_spool is null)
                    _root.AppendData(folded);
                else
                    _spool.Write(folded);
                _ready[next] = false;
                _folded++;
            }
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Wakes and releases every waiting worker: the run is over (failed or cancelled).</summary>
    public void Cancel()
    {
        lock (_gate)
        {
            _cancelled = true;
            Monitor.PulseAll(_gate);
        }
    }

    public byte[] Finish(long virtualSize)
    {
        if (_spool is null)
            return _root.GetHashAndReset();
        AppendPrefix(_root, virtualSize);
        _spool.CopyTo(_root);
        return _root.GetHashAndReset();
    }

    public void Dispose()
    {
        _root.Dispose();
        _spool?.Dispose();
    }

    /// <summary>Leaves kept until the disk size is known: 16 MiB in memory (16 TiB… of a raw stream: 512 GiB), then a temporary file.</summary>
    private sealed class LeafSpool : IDisposable
    {
        private const int MemoryLimit = 16 << 20;
        private readonly MemoryStream _memory = new();
        private FileStream? _file;

        public void Write(ReadOnlySpan<byte> leaf)
        {
            if (_file is null && _memory.Length + leaf.Length > MemoryLimit)
            {
                _file = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
                _memory.Position = 0;
                _memory.CopyTo(_file);
                _memory.SetLength(0);
            }
            if (_file is not null)
                _file.Write(leaf);
            else
                _memory.Write(leaf);
        }

        public void CopyTo(IncrementalHash root)
        {
            Stream source = (Stream?)_file ?? _memory;
            source.Position = 0;
            var buffer = new byte[1 << 16];
            int read;
            while ((read = source.Read(buffer)) > 0)
                root.AppendData(buffer.AsSpan(0, read));
        }

        public void Dispose()
        {
            _memory.Dispose();
            _file?.Dispose();
        }
    }
}

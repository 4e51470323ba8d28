using System.Numerics;
using System.Security.Cryptography;

namespace Imprint.Core.Matching;

/// <summary>
/// An open-addressing multimap from a 64-bit key (a digest's prefix, a name's hash) to small ints (matcher numbers).
/// A slot holds the key and its first value, so the common lookup (one matcher per digest) costs one cache miss where
/// a <see cref="Dictionary{TKey,TValue}"/> of lists costs three; further values of a key are chained in a side array.
/// The matcher probes it a few million times per full recompute. Built by one thread, then read by any number.
/// </summary>
internal sealed class PrefixTable
{
    // A per-process seed: md5 prefixes can be chosen by whoever uploads an image, so slots must not be predictable.
    private static readonly ulong Seed = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));

    private readonly Slot[] _slots;
    private readonly int _shift;
    private Link[] _links = new Link[16];
    private int _linkCount;

    private struct Slot
    {
        public ulong Key;
        // The first value plus one: zero marks an empty slot, so a fresh array is an empty table.
        public int FirstPlusOne;
        // The key's further values, as an index into _links, or -1.
        public int More;
    }

    private readonly record struct Link(int Value, int Next);

    public PrefixTable(int expected)
    {
        var capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, expected * 2));
        _slots = new Slot[capacity];
        _shift = 64 - BitOperations.Log2((uint)capacity);
    }

    private int Home(ulong key) => (int)(((key ^ Seed) * 0x9E3779B97F4A7C15UL) >> _shift);

    /// <summary>Adds <paramref name="value"/> to the values of <paramref name="key"/>.</summary>
    public void Add(ulong key, int value)
    {
        var mask = _slots.Length - 1;
        for (var i = Home(key); ; i = (i + 1) & mask)
        {
            ref var slot = ref _slots[i];
            if (slot.FirstPlusOne == 0)
            {
                slot.Key = key;
                slot.FirstPlusOne = value + 1;
                slot.More = -1;
                return;
            }
            if (slot.Key == key)
            {
                if (_linkCount == _links.Length)
                    Array.Resize(ref _links, _links.Length * 2);
                _links[_linkCount] = new Link(value, slot.More);
                slot.More = _linkCount++;
                return;
            }
        }
    }

    /// <summary>
    /// Reads the slot where a lookup of <paramref name="key"/> starts, and nothing depends on it: issued for a few
    /// keys ahead of their lookups, the cache misses overlap instead of coming one after the other.
    /// </summary>
    public ulong Touch(ulong key) => _slots[Home(key)].Key;

    /// <summary>The first value of <paramref name="key"/>, or -1; <paramref name="more"/> is where <see cref="Next"/> goes on.</summary>
    public int Find(ulong key, out int more)
    {
        var mask = _slots.Length - 1;
        for (var i = Home(key); ; i = (i + 1) & mask)
        {
            ref readonly var slot = ref _slots[i];
            if (slot.FirstPlusOne == 0)
            {
                more = -1;
                return -1;
            }
            if (slot.Key == key)
            {
                more = slot.More;
                return slot.FirstPlusOne - 1;
            }
        }
    }

    /// <summary>The key's next value after the one <paramref name="more"/> was given with, or -1.</summary>
    public int Next(ref int more)
    {
        if (more < 0)
            return -1;
        var link = _links[more];
        more = link.Next;
        return link.Value;
    }
}

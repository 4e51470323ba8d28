using System.Numerics;
using System.Security.Cryptography;

namespace Imprint.Core.Matching;

/// <summary>
/// An open-addressing hash table from a digest's 64-bit prefix to the head of a chain of matchers. Key and value share
/// one slot, so a probe usually costs one cache miss where a <see cref="Dictionary{TKey,TValue}"/> costs two; the
/// matcher probes it a few million times per full recompute.
/// </summary>
internal sealed class PrefixTable
{
    // A per-process seed: md5 prefixes can be chosen by whoever uploads an image, so slots must not be predictable.
    private static readonly ulong Seed = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));

    private readonly Slot[] _slots;
    private readonly int _shift;

    private struct Slot
    {
        public ulong Key;
        // The chain head plus one: zero marks an empty slot, so a fresh array is an empty table.
        public int HeadPlusOne;
    }

    public PrefixTable(int expected)
    {
        var capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, expected * 2));
        _slots = new Slot[capacity];
        _shift = 64 - BitOperations.Log2((uint)capacity);
    }

    private int Home(ulong key) => (int)(((key ^ Seed) * 0x9E3779B97F4A7C15UL) >> _shift);

    /// <summary>The chain head for <paramref name="key"/>, or -1.</summary>
    public int Find(ulong key)
    {
        var mask = _slots.Length - 1;
        for (var i = Home(key); ; i = (i + 1) & mask)
        {
            ref readonly var slot = ref _slots[i];
            if (slot.HeadPlusOne == 0)
                return -1;
            if (slot.Key == key)
                return slot.HeadPlusOne - 1;
        }
    }

    /// <summary>Sets the chain head of <paramref name="key"/>; returns the previous head, or -1.</summary>
    public int Exchange(ulong key, int head)
    {
        var mask = _slots.Length - 1;
        for (var i = Home(key); ; i = (i + 1) & mask)
        {
            ref var slot = ref _slots[i];
            if (slot.HeadPlusOne == 0)
            {
                slot.Key = key;
                slot.HeadPlusOne = head + 1;
                return -1;
            }
            if (slot.Key == key)
            {
                var previous = slot.HeadPlusOne - 1;
                slot.HeadPlusOne = head + 1;
                return previous;
            }
        }
    }
}

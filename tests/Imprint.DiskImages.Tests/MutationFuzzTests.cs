using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using FsCheck;
using FsCheck.Fluent;
using Imprint.Core.Digests;
using Imprint.DiskImages.Tests.Support;

namespace Imprint.DiskImages.Tests;

/// <summary>
/// Property: whatever bytes of a valid image's headers and tables are mutated, every reader either fingerprints
/// the result or returns an error, within bounded time and memory; nothing else (no exception, no hang).
/// IMPRINT_FUZZ_ITERATIONS sets the number of mutants (CI default: 200); IMPRINT_FUZZ_REPORT appends a summary.
/// </summary>
[Collection(HeavyTests.Name)]
public sealed class MutationFuzzTests(QemuImages images)
{
    private static readonly string[] Bases =
    [
        "qcow2-v2", "qcow2-written", "qcow2-zlib", "qcow2-zstd", "qcow2-extended-l2", "qcow2-512",
        "vmdk-sparse", "vmdk-stream", "vhd-dynamic", "vhd-fixed", "vhdx-dynamic",
    ];

    private static readonly ulong[] Interesting =
    [
        0, 1, 0x200, 0x1_0000, 0x7fff_ffff, 0xffff_ffff, 0x8000_0000_0000_0000, ulong.MaxValue, 1UL << 40, 1UL << 46, 3UL << 62,
    ];

    [Fact]
    public void AnyReader_MutatedHeadersAndTables_SucceedsOrFailsCleanly()
    {
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("IMPRINT_FUZZ_ITERATIONS"), out var n) ? n : 200;
        var originals = Bases.ToDictionary(b => b, b => File.ReadAllBytes(images[b].Path));
        var hot = Bases.ToDictionary(b => b, b => HotRanges(originals[b]));
        var outcomes = new ConcurrentDictionary<string, int>();
        var scratch = Path.Combine(images.Directory, $"fuzz-{Guid.NewGuid():N}.img");
        var slowest = TimeSpan.Zero;
        var ran = 0;

        var mutation = Gen.Choose(0, 13).SelectMany(region => Gen.Choose(0, int.MaxValue).SelectMany(position =>
            Gen.Choose(0, 3).SelectMany(kind => Gen.Choose(0, int.MaxValue).Select(value => new Mutation(region, position, kind, value)))));
        var mutant = Gen.Elements(Bases).SelectMany(name => Gen.ArrayOf(mutation).Select(m => new Mutant(name, m.Take(12).ToArray())));

        var property = Prop.ForAll(Arb.From(mutant), candidate =>
        {
            var bytes = (byte[])originals[candidate.Base].Clone();
            foreach (var m in candidate.Mutations)
                m.Apply(bytes, hot[candidate.Base]);
            File.WriteAllBytes(scratch, bytes);
            var options = new FingerprintOptions { Algorithms = [DigestAlgorithm.Md5, DigestAlgorithm.DiskSha256] };
            var threaded = Fingerprint(options);
            // On the calling thread (as the folder connector hashes small files): the same outcome, within the same bounds.
            var onCallingThread = Fingerprint(options with { OnCallingThread = true });
            ran++;
            var outcome = threaded.Error is { } error ? Classify(error) : "ok";
            outcomes.AddOrUpdate($"{candidate.Base}: {outcome}", 1, (_, c) => c + 1);
            if ((threaded.Fingerprint is null) != (onCallingThread.Fingerprint is null))
                throw new InvalidOperationException($"through the pipeline: {threaded.Error ?? "ok"}; on the calling thread: {onCallingThread.Error ?? "ok"}");
            if (threaded.Fingerprint is { } fingerprint && !fingerprint.Digests.SequenceEqual(onCallingThread.Fingerprint!.Digests))
                throw new InvalidOperationException("the digests differ through the pipeline and on the calling thread");
            return true;
        });

        FingerprintResult Fingerprint(FingerprintOptions options)
        {
            var allocatedBefore = GC.GetTotalAllocatedBytes();
            var stopwatch = Stopwatch.StartNew();
            // Task.Run: no synchronization context to block on.
            var result = Task.Run(() => ImageFingerprinter.FingerprintFileAsync(scratch, options, CancellationToken.None)).GetAwaiter().GetResult();
            stopwatch.Stop();
            // Allocation during the call bounds its peak memory from above (the pools are preallocated per call).
            var allocated = GC.GetTotalAllocatedBytes() - allocatedBefore;
            if (stopwatch.Elapsed > slowest)
                slowest = stopwatch.Elapsed;
            if ((result.Fingerprint is null) == (result.Error is null))
                throw new InvalidOperationException("exactly one of fingerprint and error must be set");
            if (result.Error is { } message && (message.Length == 0 || message.Any(char.IsControl)))
                throw new InvalidOperationException($"the error is not one printable line: '{message}'");
            if (stopwatch.Elapsed > TimeSpan.FromSeconds(10))
                throw new InvalidOperationException($"took {stopwatch.Elapsed}");
            if (allocated > 128L << 20)
                throw new InvalidOperationException($"allocated {allocated >> 20} MiB");
            return result;
        }

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(iterations).WithEndSize(20), property);

        var summary = $"fuzz: {ran} mutants, slowest {slowest.TotalMilliseconds:F0} ms\n"
            + string.Join("\n", outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"  {o.Value,6}  {o.Key}"));
        TestContext.Current.TestOutputHelper?.WriteLine(summary);
        if (Environment.GetEnvironmentVariable("IMPRINT_FUZZ_REPORT") is { Length: > 0 } report)
            File.AppendAllText(report, summary + "\n");
        ran.ShouldBeGreaterThanOrEqualTo(iterations);
    }

    /// <summary>The error without its numbers, so that outcomes group by fault.</summary>
    private static string Classify(string error) =>
        System.Text.RegularExpressions.Regex.Replace(error, @"\b(0x[0-9a-f]+|[0-9]+)\b", "N");

    public sealed record Mutant(string Base, Mutation[] Mutations)
    {
        public override string ToString() => $"{Base} with {string.Join(", ", Mutations.Select(m => m.ToString()))}";
    }

    /// <summary>
    /// Tables that live past the first MiB: the VHDX BAT and metadata regions (found through the region table).
    /// </summary>
    private static List<(long Start, int Length)> HotRanges(byte[] image)
    {
        var ranges = new List<(long, int)>();
        if (image.Length < (256 * 1024) || !image.AsSpan(0, 8).SequenceEqual("vhdxfile"u8))
            return ranges;
        var count = BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan((192 * 1024) + 8));
        var bat = new Guid("2DC27766-F623-4200-9D64-115E9BFD4A08");
        for (var i = 0; i < Math.Min(count, 16); i++)
        {
            var entry = image.AsSpan((192 * 1024) + 16 + (i * 32), 32);
            var offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]);
            if (offset + (1 << 17) > image.Length)
                continue;
            if (new Guid(entry[..16]) == bat)
            {
                // The entries a small disk actually uses: mutating unused ones changes nothing.
                ranges.Add((offset, 64));
            }
            else
            {
                // The metadata table's header and entries, and the items that follow it at 64 KiB.
                ranges.Add((offset, 32 * 8));
                ranges.Add((offset + (64 * 1024), 64));
            }
        }
        return ranges;
    }

    /// <summary>
    /// One edit. Regions weight where metadata lives: the first 4 KiB, the first MiB, the last 2 KiB (footers), the
    /// format's tables further in (hot ranges), anywhere.
    /// </summary>
    public sealed record Mutation(int Region, int Position, int Kind, int Value)
    {
        public void Apply(byte[] bytes, List<(long Start, int Length)> hot)
        {
            if (bytes.Length < 16)
                return;
            long offset;
            if (Region is 10 or 11 && hot.Count > 0)
            {
                var (start, length) = hot[Position % hot.Count];
                offset = start + ((Position / hot.Count) % Math.Max(1, length));
            }
            else if (Region >= 12)
            {
                offset = (long)((ulong)Position * (ulong)bytes.Length / int.MaxValue);
            }
            else
            {
                var window = Region switch
                {
                    < 4 => Math.Min(4096, bytes.Length),
                    < 8 => Math.Min(1 << 20, bytes.Length),
                    _ => Math.Min(2048, bytes.Length),
                };
                offset = Region >= 8 ? bytes.Length - window + (Position % window) : Position % window;
            }
            offset = Math.Min(offset, bytes.Length - 1);
            switch (Kind)
            {
                case 0:
                    bytes[offset] = (byte)Value;
                    break;
                case 1:
                    bytes[offset] ^= (byte)(1 << (Value & 7));
                    break;
                default:
                    var at = (int)Math.Min(offset & ~7L, bytes.Length - 8);
                    var value = (Value & 1) == 0 ? Interesting[(Value >> 1) % Interesting.Length] : (ulong)Value * 0x9E37_79B9;
                    if (Kind == 2)
                        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(at), value);
                    else
                        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), value);
                    break;
            }
        }
    }
}

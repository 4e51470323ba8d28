using System.Security.Cryptography;

namespace Imprint.DiskImages.Tests.Support;

/// <summary>One image made by qemu-img, with what the reference tools say its digests are.</summary>
public sealed record QemuImage(string Name, string Path, string QemuFormat, string ExpectedFormat, long VirtualSize, string DiskSha256, IReadOnlyDictionary<string, string> FileDigests)
{
    /// <summary>The reference tools' digests for every algorithm (md5, sha1, sha256, sha512, disk-sha256), in that order.</summary>
    public IReadOnlyList<string> ReferenceDigests =>
        [FileDigests["md5"], FileDigests["sha1"], FileDigests["sha256"], FileDigests["sha512"], DiskSha256];
}

/// <summary>
/// Makes, once for the whole test run, a source disk with data, written zeros, holes and a size that is not a
/// whole number of MiB, and converts it with the real qemu-img into every format and variant we read. Expected
/// digests come from the reference script over qemu-img's own raw conversion, and from md5sum and friends.
/// </summary>
public sealed class QemuImages : IDisposable
{
    // 13 MiB + 7 sectors: not a whole number of MiB, nor of 64 KiB clusters (qemu-img rounds sizes to sectors).
    public const long SourceSize = (13L << 20) + (7 * 512);

    private static readonly (string Name, string Format, string[] Options, string Expected)[] Variants =
    [
        ("qcow2-v2", "qcow2", ["-o", "compat=0.10"], "qcow2"),
        ("qcow2-v3", "qcow2", ["-o", "compat=1.1"], "qcow2"),
        ("qcow2-zlib", "qcow2", ["-c", "-o", "compression_type=zlib"], "qcow2"),
        ("qcow2-zstd", "qcow2", ["-c", "-o", "compression_type=zstd"], "qcow2"),
        ("qcow2-v2-zlib", "qcow2", ["-c", "-o", "compat=0.10"], "qcow2"),
        ("qcow2-extended-l2", "qcow2", ["-o", "extended_l2=on,cluster_size=128k"], "qcow2"),
        ("qcow2-512", "qcow2", ["-o", "cluster_size=512"], "qcow2"),
        ("qcow2-2m", "qcow2", ["-o", "cluster_size=2M"], "qcow2"),
        ("qcow2-2m-zstd", "qcow2", ["-c", "-o", "cluster_size=2M,compression_type=zstd"], "qcow2"),
        ("vmdk-sparse", "vmdk", ["-o", "subformat=monolithicSparse"], "vmdk"),
        ("vmdk-sparse-zeroed-grain", "vmdk", ["-o", "subformat=monolithicSparse,zeroed_grain=on"], "vmdk"),
        ("vmdk-stream", "vmdk", ["-o", "subformat=streamOptimized"], "vmdk"),
        ("vhd-dynamic", "vpc", ["-o", "subformat=dynamic"], "vhd"),
        ("vhd-dynamic-exact", "vpc", ["-o", "subformat=dynamic,force_size=on"], "vhd"),
        ("vhd-fixed", "vpc", ["-o", "subformat=fixed,force_size=on"], "vhd"),
        ("vhdx-dynamic", "vhdx", ["-o", "subformat=dynamic"], "vhdx"),
        ("vhdx-fixed", "vhdx", ["-o", "subformat=fixed"], "vhdx"),
        ("vhdx-32m-blocks", "vhdx", ["-o", "block_size=32M"], "vhdx"),
    ];

    public QemuImages()
    {
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"imprint-disk-tests-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
        SourcePath = System.IO.Path.Combine(Directory, "source.raw");
        WriteSource(SourcePath);

        var images = new List<QemuImage> { Describe("raw-sparse", SourcePath, "raw", "raw") };
        var dense = System.IO.Path.Combine(Directory, "dense.raw");
        File.WriteAllBytes(dense, File.ReadAllBytes(SourcePath));
        images.Add(Describe("raw-dense", dense, "raw", "raw"));
        var ordered = Variants.AsParallel().AsOrdered().Select(variant =>
        {
            var path = System.IO.Path.Combine(Directory, $"{variant.Name}.img");
            Tool.Run("qemu-img", ["convert", "-f", "raw", "-O", variant.Format, .. variant.Options, SourcePath, path]);
            return Describe(variant.Name, path, variant.Format, variant.Expected);
        });
        images.AddRange(ordered);
        images.Add(MakeWrittenQcow2());
        Images = images.ToDictionary(i => i.Name);
    }

    public string Directory { get; }

    public string SourcePath { get; }

    public IReadOnlyDictionary<string, QemuImage> Images { get; }

    public static TheoryData<string> Names
    {
        get
        {
            var names = new TheoryData<string>("raw-sparse", "raw-dense", "qcow2-written");
            foreach (var variant in Variants)
                names.Add(variant.Name);
            return names;
        }
    }

    public QemuImage this[string name] => Images[name];

    /// <summary>A copy of an image that a test may corrupt.</summary>
    public string Copy(string name)
    {
        var path = System.IO.Path.Combine(Directory, $"{name}-{Guid.NewGuid():N}.img");
        File.Copy(Images[name].Path, path);
        return path;
    }

    private static void WriteSource(string path)
    {
        var random = new Random(20261203);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        file.SetLength(SourceSize);
        void Write(long offset, byte[] bytes)
        {
            file.Position = offset;
            file.Write(bytes);
        }
        byte[] Random(int length)
        {
            var bytes = new byte[length];
            random.NextBytes(bytes);
            return bytes;
        }
        Write(0, Random(300_000));                       // data that ends mid-cluster
        Write(2L << 20, new byte[1 << 20]);              // a whole MiB of written zeros
        Write((3L << 20) + 4096, Random(70_000));         // data inside an otherwise empty MiB
        Write((8L << 20) - 100, Random(5000));             // data across a MiB boundary
        Write(SourceSize - 5000, Random(5000));            // data up to the odd end
        // Everything else is a hole.
    }

    /// <summary>A qcow2 written after creation with qemu-io: data, zero clusters (write -z) and a discard.</summary>
    private QemuImage MakeWrittenQcow2()
    {
        var path = System.IO.Path.Combine(Directory, "qcow2-written.img");
        Tool.Run("qemu-img", "create", "-q", "-f", "qcow2", path, SourceSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Tool.Run("qemu-io", "-f", "qcow2",
            "-c", "write -P 0x5a 0 3M",
            "-c", "write -z 1M 1M",
            "-c", "write -P 0x11 5M 64k",
            "-c", "discard 5M 64k",
            "-c", "write -P 0xee 9M 700k",
            "-c", "write -z -u 9M 128k",
            path);
        return Describe("qcow2-written", path, "qcow2", "qcow2");
    }

    private QemuImage Describe(string name, string path, string qemuFormat, string expectedFormat)
    {
        var raw = path + ".raw";
        Tool.Run("qemu-img", "convert", "-f", qemuFormat, "-O", "raw", path, raw);
        var digests = new Dictionary<string, string>();
        foreach (var algorithm in new[] { "md5", "sha1", "sha256", "sha512" })
            digests[algorithm] = Tool.FileDigest(algorithm, path);
        var image = new QemuImage(name, path, qemuFormat, expectedFormat, new FileInfo(raw).Length, Tool.ReferenceDiskSha256(raw), digests);
        File.Delete(raw);
        return image;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp dir is not worth failing a run over.
        }
    }

    /// <summary>SHA-256 of n zero bytes, for size edge cases.</summary>
    public static byte[] ZeroSha256(int length) => SHA256.HashData(new byte[length]);
}

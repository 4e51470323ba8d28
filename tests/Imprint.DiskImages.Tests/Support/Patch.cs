using System.Buffers.Binary;

namespace Imprint.DiskImages.Tests.Support;

/// <summary>Byte surgery on image copies, for hostile-image tests.</summary>
internal static class Patch
{
    public static ulong ReadUInt64BigEndian(string path, long offset) => BinaryPrimitives.ReadUInt64BigEndian(Read(path, offset, 8));

    public static uint ReadUInt32BigEndian(string path, long offset) => BinaryPrimitives.ReadUInt32BigEndian(Read(path, offset, 4));

    public static ulong ReadUInt64LittleEndian(string path, long offset) => BinaryPrimitives.ReadUInt64LittleEndian(Read(path, offset, 8));

    public static uint ReadUInt32LittleEndian(string path, long offset) => BinaryPrimitives.ReadUInt32LittleEndian(Read(path, offset, 4));

    public static void WriteUInt64BigEndian(string path, long offset, ulong value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        Write(path, offset, bytes);
    }

    public static void WriteUInt32BigEndian(string path, long offset, uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        Write(path, offset, bytes);
    }

    public static void WriteUInt64LittleEndian(string path, long offset, ulong value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        Write(path, offset, bytes);
    }

    public static void WriteUInt32LittleEndian(string path, long offset, uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        Write(path, offset, bytes);
    }

    public static byte[] Read(string path, long offset, int length)
    {
        using var file = File.OpenRead(path);
        var bytes = new byte[length];
        file.Position = offset;
        file.ReadExactly(bytes);
        return bytes;
    }

    public static void Write(string path, long offset, ReadOnlySpan<byte> bytes)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.Position = offset;
        file.Write(bytes);
    }

    public static long Append(string path, ReadOnlySpan<byte> bytes, int alignment = 512)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        var offset = (file.Length + alignment - 1) / alignment * alignment;
        file.SetLength(offset);
        file.Position = offset;
        file.Write(bytes);
        return offset;
    }

    public static void Truncate(string path, long length)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.SetLength(length);
    }

    /// <summary>Re-seals a VHD footer or dynamic header after an edit: one's complement of the byte sum.</summary>
    public static void FixVhdChecksum(string path, long offset, int length, int checksumOffset)
    {
        var bytes = Read(path, offset, length);
        bytes.AsSpan(checksumOffset, 4).Clear();
        uint sum = 0;
        foreach (var b in bytes)
            sum += b;
        WriteUInt32BigEndian(path, offset + checksumOffset, ~sum);
    }
}

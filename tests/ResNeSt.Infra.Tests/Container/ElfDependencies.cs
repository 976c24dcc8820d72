using System.Buffers.Binary;
using System.Text;

namespace ResNeSt.Infra.Tests.Container;

/// <summary>Reads the DT_NEEDED entries (the sonames the loader must find) of a little-endian ELF64 shared library.</summary>
internal static class ElfDependencies
{
    private const uint SectionDynamic = 6;
    private const long TagNeeded = 1;

    public static IReadOnlyList<string> Needed(string path)
    {
        using var file = File.OpenRead(path);
        var header = Read(file, 0, 64);
        if (!header.AsSpan(0, 4).SequenceEqual("\u007fELF"u8) || header[4] != 2 || header[5] != 1)
        {
            throw new InvalidDataException($"{path} is not a little-endian ELF64 file.");
        }

        var sectionTable = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(0x28));
        var sectionSize = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x3A));
        var sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x3C));
        var sections = Read(file, sectionTable, sectionSize * sectionCount);

        for (var i = 0; i < sectionCount; i++)
        {
            var section = sections.AsSpan(i * sectionSize, sectionSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(section[4..]) != SectionDynamic)
            {
                continue;
            }

            var dynamic = Read(file, BinaryPrimitives.ReadInt64LittleEndian(section[0x18..]), (int)BinaryPrimitives.ReadInt64LittleEndian(section[0x20..]));
            var strings = sections.AsSpan((int)BinaryPrimitives.ReadUInt32LittleEndian(section[0x28..]) * sectionSize, sectionSize);
            var table = Read(file, BinaryPrimitives.ReadInt64LittleEndian(strings[0x18..]), (int)BinaryPrimitives.ReadInt64LittleEndian(strings[0x20..]));

            var needed = new List<string>();
            for (var offset = 0; offset + 16 <= dynamic.Length; offset += 16)
            {
                var tag = BinaryPrimitives.ReadInt64LittleEndian(dynamic.AsSpan(offset));
                if (tag == TagNeeded)
                {
                    var start = (int)BinaryPrimitives.ReadInt64LittleEndian(dynamic.AsSpan(offset + 8));
                    var end = Array.IndexOf(table, (byte)0, start);
                    needed.Add(Encoding.ASCII.GetString(table, start, end - start));
                }
            }

            return needed;
        }

        return [];
    }

    private static byte[] Read(FileStream file, long offset, int count)
    {
        var buffer = new byte[count];
        file.Position = offset;
        file.ReadExactly(buffer);
        return buffer;
    }
}

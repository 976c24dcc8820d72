using System.IO.Compression;
using System.Text;

namespace ResNeSt.TestSupport;

/// <summary>Checkpoint bytes written by hand, for cases PyTorch itself would never produce.</summary>
public static class HandMadeCheckpoints
{
    public static byte[] Ascii(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>A zip-format data.pkl: {'w': tensor of a float32 storage '0' of <paramref name="storageSize"/> elements,
    /// viewed with the given pickled size and stride tuples}.</summary>
    public static byte[] OneTensorPickle(int storageSize, string sizeAndStride) => Ascii(
        "\u0080\u0002}X\u0001\0\0\0wctorch._utils\n_rebuild_tensor_v2\n((X\u0007\0\0\0storagectorch\nFloatStorage\nX\u0001\0\0\00X\u0003\0\0\0cpuJ" +
        Encoding.Latin1.GetString(BitConverter.GetBytes(storageSize)) + "tQK\0" + sizeAndStride + "\u0089ccollections\nOrderedDict\n)RtRs.");

    /// <summary>
    /// A zip-format data.pkl of a state_dict in which every tensor is a view of the one float32 storage '0' of
    /// <paramref name="storageSize"/> elements, with its own shape, strides and offset.
    /// </summary>
    public static byte[] StateDictPickle(int storageSize, IEnumerable<(string Key, IReadOnlyList<int> Shape, IReadOnlyList<int> Strides, int Offset)> tensors) =>
        StateDictPickle(tensors.Select(t => new PickledTensor(t.Key, "FloatStorage", "0", storageSize, t.Shape, t.Strides, t.Offset)));

    /// <summary>A zip-format data.pkl of a state_dict (a plain dict, as torch.load accepts), tensors in the given order,
    /// each a view of the storage it names (the zip's data/<see cref="PickledTensor.StorageKey"/>).</summary>
    public static byte[] StateDictPickle(IEnumerable<PickledTensor> tensors)
    {
        var pickle = new StringBuilder("\u0080\u0002}(");
        foreach (var t in tensors)
        {
            pickle.Append('X').Append(Int(Encoding.Latin1.GetByteCount(t.Key))).Append(t.Key)
                .Append("ctorch._utils\n_rebuild_tensor_v2\n((X\u0007\0\0\0storagectorch\n").Append(t.StorageType).Append('\n')
                .Append('X').Append(Int(Encoding.Latin1.GetByteCount(t.StorageKey))).Append(t.StorageKey)
                .Append("X\u0003\0\0\0cpuJ").Append(Int(t.StorageSize)).Append("tQJ").Append(Int(t.Offset))
                .Append(Tuple(t.Shape)).Append(Tuple(t.Strides))
                .Append("\u0089ccollections\nOrderedDict\n)RtR");
        }

        return Ascii(pickle.Append("u.").ToString());

        static string Tuple(IReadOnlyList<int> values) => "(" + string.Concat(values.Select(v => "J" + Int(v))) + "t";
    }

    private static string Int(int value) => Encoding.Latin1.GetString(BitConverter.GetBytes(value));

    /// <summary>The legacy format's magic number, protocol version and system information pickles.</summary>
    public static byte[] LegacyHeader() => Ascii(
        "\u0080\u0002\u008a\u000a\u006c\u00fc\u009c\u0046\u00f9\u0020\u006a\u00a8\u0050\u0019." +
        "\u0080\u0002M\u00e9\u0003." +
        "\u0080\u0002}(X\u000d\0\0\0little_endian\u0088u.");

    public static byte[] Zip(byte[] pickle, Dictionary<string, byte[]>? storages = null, string? byteOrder = null)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            Add(archive, "archive/data.pkl", pickle);
            foreach (var (key, data) in storages ?? [])
            {
                Add(archive, "archive/data/" + key, data);
            }

            Add(archive, "archive/version", Ascii("3\n"));
            if (byteOrder is not null)
            {
                Add(archive, "archive/byteorder", Ascii(byteOrder));
            }
        }

        return buffer.ToArray();
    }

    public static void Add(ZipArchive archive, string name, byte[] data)
    {
        using var stream = archive.CreateEntry(name, CompressionLevel.NoCompression).Open();
        stream.Write(data);
    }
}

using Google.Protobuf;
using Onnx;

namespace ResNeSt.Models.Onnx;

/// <summary>Writes ONNX models.</summary>
public static class ModelWriter
{
    private const int BufferSize = 1 << 20;

    /// <summary>
    /// Writes the model to <paramref name="path"/> through a temporary file in the same folder, so that a
    /// reader (or a blob upload) never sees half a model and an interrupted export leaves the old file intact.
    /// </summary>
    /// <returns>The size of the written file in bytes.</returns>
    public static long Save(ModelProto model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize))
            {
                Save(model, stream);
            }

            File.Move(temporary, fullPath, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }

        return new FileInfo(fullPath).Length;
    }

    /// <summary>Writes the model's protobuf encoding to a stream (left open).</summary>
    public static void Save(ModelProto model, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        if (model.CalculateSize() < 0)
        {
            // protobuf sizes are int32; ONNX without external data is capped at 2 GiB.
            throw new InvalidOperationException("The model is larger than the 2 GiB a single ONNX file can hold.");
        }

        using var output = new CodedOutputStream(stream, leaveOpen: true);
        model.WriteTo(output);
        output.Flush();
    }

    /// <summary>The model's protobuf encoding.</summary>
    public static byte[] ToBytes(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.ToByteArray();
    }
}

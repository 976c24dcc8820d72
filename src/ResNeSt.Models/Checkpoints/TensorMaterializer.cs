using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace ResNeSt.Models.Checkpoints;

/// <summary>Turns a strided view of raw storage bytes into a row-major float32 array.</summary>
internal static class TensorMaterializer
{
    public static float[] Materialize(string key, TensorView view, ReadOnlySpan<byte> storage, bool bigEndian)
    {
        int rank = view.Shape.Length;
        long count = 1;
        Int128 last = view.Offset;
        for (int d = 0; d < rank; d++)
        {
            count *= view.Shape[d];
            if (count > Array.MaxLength)
            {
                throw new CheckpointException($"the checkpoint is malformed: tensor '{key}' claims {count}+ elements.");
            }

            if (view.Shape[d] > 0)
            {
                last += (Int128)(view.Shape[d] - 1) * view.Strides[d];
            }
        }

        if (count == 0)
        {
            return [];
        }

        if (last >= view.End)
        {
            throw new CheckpointException(
                $"the checkpoint is malformed: tensor '{key}' reaches element {last} of storage '{view.Storage.Key}', which has {view.End}.");
        }

        var result = new float[count];
        int size = view.Storage.Type.ElementSize();
        if (IsRowMajor(view) && view.Storage.Type == StorageType.Float32 && !bigEndian && BitConverter.IsLittleEndian)
        {
            MemoryMarshal.Cast<byte, float>(storage.Slice(checked((int)(view.Offset * size)), checked((int)(count * size)))).CopyTo(result);
            return result;
        }

        // General case: walk the view's indices in row-major order, carrying into outer dimensions.
        var index = new int[rank];
        long position = view.Offset;
        for (long i = 0; i < count; i++)
        {
            result[i] = Read(storage.Slice(checked((int)(position * size)), size), view.Storage.Type, bigEndian);
            for (int d = rank - 1; d >= 0; d--)
            {
                position += view.Strides[d];
                if (++index[d] < view.Shape[d])
                {
                    break;
                }

                position -= view.Strides[d] * view.Shape[d];
                index[d] = 0;
            }
        }

        return result;
    }

    private static bool IsRowMajor(TensorView view)
    {
        long expected = 1;
        for (int d = view.Shape.Length - 1; d >= 0; d--)
        {
            if (view.Shape[d] != 1 && view.Strides[d] != expected)
            {
                return false;
            }

            expected *= view.Shape[d];
        }

        return true;
    }

    private static float Read(ReadOnlySpan<byte> bytes, StorageType type, bool bigEndian) => type switch
    {
        StorageType.Float32 => bigEndian ? BinaryPrimitives.ReadSingleBigEndian(bytes) : BinaryPrimitives.ReadSingleLittleEndian(bytes),
        StorageType.Float16 => (float)(bigEndian ? BinaryPrimitives.ReadHalfBigEndian(bytes) : BinaryPrimitives.ReadHalfLittleEndian(bytes)),
        StorageType.Float64 => (float)(bigEndian ? BinaryPrimitives.ReadDoubleBigEndian(bytes) : BinaryPrimitives.ReadDoubleLittleEndian(bytes)),
        StorageType.Int64 => bigEndian ? BinaryPrimitives.ReadInt64BigEndian(bytes) : BinaryPrimitives.ReadInt64LittleEndian(bytes),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}

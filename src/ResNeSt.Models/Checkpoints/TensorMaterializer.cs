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

        // General case: convert one run along the innermost dimension at a time, carrying into the outer dimensions.
        // Size-1 dimensions are dropped and dimensions that continue each other are merged first, so that runs are
        // long (a 1x1 convolution weight [O, I, 1, 1] becomes O runs of I, not O·I runs of 1).
        var (shape, strides) = Simplify(view.Shape, view.Strides);
        int dims = shape.Count;
        int inner = dims == 0 ? 1 : shape[dims - 1];
        long innerStride = dims == 0 ? 0 : strides[dims - 1];
        var index = new int[Math.Max(dims - 1, 0)];
        long position = view.Offset;
        for (long done = 0; done < count; done += inner)
        {
            ConvertRun(storage, view.Storage.Type, bigEndian, position, innerStride, result.AsSpan((int)done, inner));
            for (int d = dims - 2; d >= 0; d--)
            {
                position += strides[d];
                if (++index[d] < shape[d])
                {
                    break;
                }

                position -= strides[d] * shape[d];
                index[d] = 0;
            }
        }

        return result;
    }

    private static void ConvertRun(ReadOnlySpan<byte> storage, StorageType type, bool bigEndian, long start, long stride, Span<float> destination)
    {
        if (bigEndian || !BitConverter.IsLittleEndian)
        {
            int size = type.ElementSize();
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = Read(storage.Slice((int)((start + (i * stride)) * size), size), type, bigEndian);
            }

            return;
        }

        switch (type)
        {
            case StorageType.Float32:
                {
                    var source = MemoryMarshal.Cast<byte, float>(storage);
                    for (int i = 0; i < destination.Length; i++)
                    {
                        destination[i] = source[(int)(start + (i * stride))];
                    }

                    break;
                }

            case StorageType.Float16:
                {
                    var source = MemoryMarshal.Cast<byte, Half>(storage);
                    for (int i = 0; i < destination.Length; i++)
                    {
                        destination[i] = (float)source[(int)(start + (i * stride))];
                    }

                    break;
                }

            case StorageType.Float64:
                {
                    var source = MemoryMarshal.Cast<byte, double>(storage);
                    for (int i = 0; i < destination.Length; i++)
                    {
                        destination[i] = (float)source[(int)(start + (i * stride))];
                    }

                    break;
                }

            case StorageType.Int64:
                {
                    var source = MemoryMarshal.Cast<byte, long>(storage);
                    for (int i = 0; i < destination.Length; i++)
                    {
                        destination[i] = source[(int)(start + (i * stride))];
                    }

                    break;
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, null);
        }
    }

    private static (List<int> Shape, List<long> Strides) Simplify(int[] shape, long[] strides)
    {
        var outShape = new List<int>(shape.Length);
        var outStrides = new List<long>(shape.Length);
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 1)
            {
                continue;
            }

            if (outShape.Count > 0 && outStrides[^1] == strides[d] * shape[d])
            {
                outShape[^1] *= shape[d];
                outStrides[^1] = strides[d];
                continue;
            }

            outShape.Add(shape[d]);
            outStrides.Add(strides[d]);
        }

        return (outShape, outStrides);
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

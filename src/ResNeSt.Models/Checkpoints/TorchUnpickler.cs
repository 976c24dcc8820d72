using System.Collections;
using System.Numerics;
using Razorvine.Pickle;

namespace ResNeSt.Models.Checkpoints;

/// <summary>A storage a tensor refers to: the pickled key, its element type and size.</summary>
internal sealed record StorageInfo(string Key, StorageType Type, long ElementCount);

/// <summary>What <c>torch._utils._rebuild_tensor_v2</c> would build: a strided view of a storage.</summary>
/// <param name="Offset">First element, counted from the start of <paramref name="Storage"/>.</param>
/// <param name="End">One past the last element the view may touch (the storage's end, or its legacy window's).</param>
internal sealed record TensorView(StorageInfo Storage, long Offset, int[] Shape, long[] Strides, long End);

/// <summary>Stands in for <c>collections.OrderedDict</c>; Razorvine fills dicts through <see cref="Hashtable"/>.</summary>
internal sealed class PickledOrderedDict : Hashtable
{
    // Called by the BUILD opcode with the instance attributes (a state_dict's per-module '_metadata' versions),
    // which conversion does not need. Razorvine finds it by reflection, by this Python name, on the instance.
#pragma warning disable CA1822, IDE0060, IDE1006 // an instance method with Python's name and signature
    public void __setstate__(Hashtable state)
#pragma warning restore CA1822, IDE0060, IDE1006
    {
    }
}

/// <summary>
/// Unpickles a (pre-scanned) state_dict pickle into plain objects: <see cref="Hashtable"/> dicts,
/// <see cref="TensorView"/> tensors and the storages they reference. Nothing in the pickle can run code:
/// <see cref="PickleScanner"/> has already refused every global outside the constructors registered here.
/// </summary>
internal sealed class TorchUnpickler : Unpickler
{
    private static readonly Lock s_registrationLock = new();
    private static bool s_registered;

    private readonly Dictionary<string, StorageInfo> _storages = new(StringComparer.Ordinal);

    public TorchUnpickler()
    {
        // Razorvine keeps constructors in a process-wide table; register ours once.
        lock (s_registrationLock)
        {
            if (!s_registered)
            {
                registerConstructor("collections", "OrderedDict", new OrderedDictConstructor());
                registerConstructor("torch._utils", "_rebuild_tensor_v2", new RebuildTensorConstructor());
                registerConstructor("torch._utils", "_rebuild_parameter", new RebuildParameterConstructor());
                foreach (var (className, type) in StorageTypes.ByClassName)
                {
                    registerConstructor("torch", className, new StorageClass(type));
                }

                s_registered = true;
            }
        }
    }

    /// <summary>Storages referenced so far, by key.</summary>
    public IReadOnlyDictionary<string, StorageInfo> Storages => _storages;

    /// <summary>Unpickles one pre-scanned pickle.</summary>
    public object? Load(byte[] pickle)
    {
        try
        {
            return loads(pickle);
        }
        catch (PickleException ex)
        {
            throw new CheckpointException($"the checkpoint is malformed: its pickle could not be decoded ({ex.Message.TrimEnd('.')}).", ex);
        }
        catch (Exception ex) when (ex is InvalidCastException or IndexOutOfRangeException or ArgumentException or FormatException or OverflowException or NullReferenceException or InvalidOperationException)
        {
            // Razorvine's opcode handlers cast stack entries without checks; a crafted stream ends up here.
            throw new CheckpointException($"the checkpoint is malformed: its pickle is not a valid object stream ({ex.Message.TrimEnd('.')}).", ex);
        }
    }

    // Persistent ids: ('storage', storage class, key, location, numel[, view metadata]) — the last item only in the
    // legacy format, where it is None or (view key, offset, size) for storages that were themselves views.
    protected override object persistentLoad(object pid)
    {
        if (pid is not object[] { Length: 5 or 6 } id || id[0] is not "storage" || id[1] is not StorageClass storageClass
            || id[2] is not string key || id[3] is not string)
        {
            throw new CheckpointException("the checkpoint is malformed: a tensor refers to its data in an unknown way.");
        }

        long count = ToInt64(id[4], "storage size");
        if (count < 0)
        {
            throw new CheckpointException($"the checkpoint is malformed: storage '{key}' has a negative size.");
        }

        var storage = new StorageInfo(key, storageClass.Type, count);
        if (_storages.TryGetValue(key, out var known))
        {
            if (known != storage)
            {
                throw new CheckpointException($"the checkpoint is malformed: storage '{key}' is described twice, differently.");
            }

            storage = known;
        }
        else
        {
            _storages.Add(key, storage);
        }

        if (id.Length == 6 && id[5] is not null)
        {
            if (id[5] is not object[] { Length: 3 } view || view[0] is not string)
            {
                throw new CheckpointException($"the checkpoint is malformed: storage '{key}' has an unknown view description.");
            }

            long offset = ToInt64(view[1], "storage view offset");
            long size = ToInt64(view[2], "storage view size");
            if (offset < 0 || size < 0 || offset > count - size)
            {
                throw new CheckpointException($"the checkpoint is malformed: a view of storage '{key}' lies outside it.");
            }

            return new StorageSlice(storage, offset, size);
        }

        return new StorageSlice(storage, 0, count);
    }

    internal static long ToInt64(object? value, string what) => value switch
    {
        int i => i,
        long l => l,
        BigInteger b when b.GetBitLength() <= 63 => (long)b, // 63 bits and a sign: the range of a long
        _ => throw new CheckpointException($"the checkpoint is malformed: a {what} is not an integer in range."),
    };

    /// <summary>A storage, or (legacy format only) a window of one.</summary>
    private sealed record StorageSlice(StorageInfo Storage, long Offset, long ElementCount);

    /// <summary>The pickled class <c>torch.XxxStorage</c>: only ever named in persistent ids, never called.</summary>
    private sealed class StorageClass(StorageType type) : IObjectConstructor
    {
        public StorageType Type { get; } = type;

        public object construct(object[] args) =>
            throw new CheckpointException("the checkpoint is malformed: it constructs a storage object directly.");
    }

    private sealed class OrderedDictConstructor : IObjectConstructor
    {
        public object construct(object[] args) => args.Length == 0
            ? new PickledOrderedDict()
            : throw new CheckpointException("the checkpoint is malformed: an OrderedDict is built from arguments.");
    }

    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    private sealed class RebuildTensorConstructor : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length is < 6 or > 7 || args[0] is not StorageSlice slice || args[2] is not object[] size
                || args[3] is not object[] stride || size.Length != stride.Length)
            {
                throw new CheckpointException("the checkpoint is malformed: a tensor is described with unexpected arguments.");
            }

            if (size.Length > 16)
            {
                throw new CheckpointException($"the checkpoint is malformed: a tensor has {size.Length} dimensions.");
            }

            var shape = new int[size.Length];
            var strides = new long[size.Length];
            for (int d = 0; d < size.Length; d++)
            {
                long extent = ToInt64(size[d], "tensor dimension");
                if (extent is < 0 or > int.MaxValue)
                {
                    throw new CheckpointException($"the checkpoint is malformed: a tensor dimension is {extent}.");
                }

                shape[d] = (int)extent;
                strides[d] = ToInt64(stride[d], "tensor stride");
                if (strides[d] < 0)
                {
                    throw new CheckpointException("the checkpoint is malformed: a tensor has a negative stride.");
                }
            }

            long offset = ToInt64(args[1], "tensor offset");
            if (offset < 0 || offset > slice.ElementCount)
            {
                throw new CheckpointException("the checkpoint is malformed: a tensor starts outside its storage.");
            }

            return new TensorView(slice.Storage, slice.Offset + offset, shape, strides, slice.Offset + slice.ElementCount);
        }
    }

    // _rebuild_parameter(data, requires_grad, backward_hooks): a state_dict saved with keep_vars=True.
    private sealed class RebuildParameterConstructor : IObjectConstructor
    {
        public object construct(object[] args) => args is [TensorView tensor, ..]
            ? tensor
            : throw new CheckpointException("the checkpoint is malformed: a parameter wraps no tensor.");
    }
}

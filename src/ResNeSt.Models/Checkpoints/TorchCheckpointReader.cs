using System.Buffers;
using System.Buffers.Binary;
using System.Collections;
using System.IO.Compression;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using ResNeSt.Models.Weights;

namespace ResNeSt.Models.Checkpoints;

/// <summary>
/// Reads a PyTorch <c>.pth</c> file holding a state_dict (an OrderedDict of tensors, or a dict wrapping one under
/// <c>'state_dict'</c>) in either of PyTorch's formats: the zip archive (PyTorch ≥ 1.6) and the legacy sequence of
/// pickles followed by raw storages (what the official ResNeSt weights use). Tensors of float32, float16, float64 and
/// int64 storages, with any offset and stride, become row-major float32 arrays.
/// </summary>
/// <remarks>
/// The file is untrusted: no pickle global outside a short allow-list is accepted (see <see cref="PickleScanner"/>),
/// and no size read from the file is trusted beyond what the file actually holds. Every failure is a
/// <see cref="CheckpointException"/> with a message for the user.
/// </remarks>
public static class TorchCheckpointReader
{
    /// <summary>The legacy format's first pickle: a fixed 80-bit magic number.</summary>
    private static readonly BigInteger s_legacyMagic = BigInteger.Parse("119547037146038801333356", System.Globalization.CultureInfo.InvariantCulture);

    private const int LegacyProtocolVersion = 1001;

    /// <summary>Pickles of real state_dicts are a few hundred kilobytes; anything past this is not one.</summary>
    private const long MaxPickleBytes = 64L << 20;

    public static Task<StateDict> ReadAsync(
        string path, IProgress<(long read, long? total)>? progress = null, CancellationToken cancellationToken = default) =>
        ReadAsync(path, beforeMaterializing: null, progress, cancellationToken);

    /// <param name="path">A PyTorch state_dict file.</param>
    /// <param name="beforeMaterializing">
    /// Sees every tensor's name and shape before any tensor is materialised, and throws <see cref="CheckpointException"/>
    /// to stop there (a variant's spec check: nothing the spec does not expect is ever allocated).
    /// </param>
    /// <param name="progress">Storage bytes converted so far, of the total.</param>
    /// <param name="cancellationToken">Stops between storages.</param>
    public static async Task<StateDict> ReadAsync(
        string path,
        Action<IReadOnlyDictionary<string, IReadOnlyList<int>>>? beforeMaterializing,
        IProgress<(long read, long? total)>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new CheckpointException($"Checkpoint file '{path}' does not exist.");
        }

        try
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
            long length = stream.Length;
            if (length == 0)
            {
                throw new CheckpointException("the file is empty.");
            }

            string sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
            stream.Position = 0;

            var head = new byte[Math.Min(4, length)];
            await stream.ReadExactlyAsync(head, cancellationToken);
            stream.Position = 0;

            Dictionary<string, NamedTensor> tensors;
            if (head is [(byte)'P', (byte)'K', 3, 4])
            {
                tensors = await ReadZipAsync(stream, beforeMaterializing, progress, cancellationToken);
            }
            else if (head[0] == 0x80)
            {
                tensors = await ReadLegacyAsync(stream, beforeMaterializing, progress, cancellationToken);
            }
            else
            {
                throw new CheckpointException($"{Describe(head)}, not a PyTorch checkpoint.");
            }

            return new StateDict(tensors, sha256);
        }
        catch (CheckpointException ex)
        {
            throw new CheckpointException($"Cannot read checkpoint '{path}': {ex.Message}", ex.InnerException ?? ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new CheckpointException($"Cannot read checkpoint '{path}': {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException)
        {
            throw new CheckpointException($"Cannot read checkpoint '{path}': the file is truncated or corrupt ({ex.Message.TrimEnd('.')}).", ex);
        }
    }

    private static string Describe(byte[] head) => head switch
    {
        [0xFF, 0xD8, ..] => "it is a JPEG image",
        [0x89, (byte)'P', (byte)'N', (byte)'G'] => "it is a PNG image",
        [0x1F, 0x8B, ..] => "it is gzip data",
        [0x08, ..] => "it looks like an ONNX or other protobuf file",
        _ => $"it is neither a zip archive nor a pickle stream (it starts with {Convert.ToHexString(head)})",
    };

    private static async Task<Dictionary<string, NamedTensor>> ReadZipAsync(
        FileStream stream,
        Action<IReadOnlyDictionary<string, IReadOnlyList<int>>>? beforeMaterializing,
        IProgress<(long read, long? total)>? progress,
        CancellationToken cancellationToken)
    {
        long fileLength = stream.Length;
        using var archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        var pickles = archive.Entries.Where(e => e.FullName == "data.pkl" || (e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal)
            && e.FullName.IndexOf('/', StringComparison.Ordinal) == e.FullName.Length - "/data.pkl".Length)).ToList();
        if (pickles.Count != 1)
        {
            bool torchScript = archive.Entries.Any(e => e.FullName.EndsWith("constants.pkl", StringComparison.Ordinal));
            throw new CheckpointException(torchScript
                ? "it is a TorchScript archive, not a state_dict; save the weights with torch.save(model.state_dict(), path)."
                : "it is a zip archive but not a PyTorch checkpoint (no single data.pkl inside).");
        }

        string prefix = pickles[0].FullName[..^"data.pkl".Length];
        bool bigEndian = false;
        if (archive.GetEntry(prefix + "byteorder") is { } byteOrderEntry)
        {
            await using var byteOrderStream = await byteOrderEntry.OpenAsync(cancellationToken);
            using var reader = new StreamReader(byteOrderStream, Encoding.ASCII);
            string order = (await reader.ReadToEndAsync(cancellationToken)).Trim();
            bigEndian = order switch
            {
                "little" => false,
                "big" => true,
                _ => throw new CheckpointException($"the checkpoint is malformed: unknown byte order '{order}'."),
            };
        }

        long pickleLength = pickles[0].Length;
        if (pickleLength > Math.Min(MaxPickleBytes, fileLength))
        {
            throw new CheckpointException($"the checkpoint is malformed: data.pkl claims {pickleLength} bytes.");
        }

        var unpickler = new TorchUnpickler();
        object? root;
        await using (var pickleStream = await pickles[0].OpenAsync(cancellationToken))
        {
            root = unpickler.Load(PickleScanner.ReadOne(pickleStream, pickleLength, "data.pkl"));
        }

        var selected = SelectTensors(root, beforeMaterializing);
        var tensors = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
        var byStorage = selected.GroupBy(t => t.View.Storage.Key, StringComparer.Ordinal).ToList();
        long total = byStorage.Sum(g => StorageBytes(g.First().View.Storage, fileLength));
        long done = 0;
        foreach (var group in byStorage)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var storage = group.First().View.Storage;
            int bytes = StorageBytes(storage, fileLength);
            var entry = archive.GetEntry(prefix + "data/" + storage.Key)
                ?? throw new CheckpointException($"the checkpoint is malformed: storage '{storage.Key}' is missing from the archive.");
            if (entry.Length != bytes)
            {
                throw new CheckpointException(
                    $"the checkpoint is malformed: storage '{storage.Key}' holds {entry.Length} bytes, its tensors need {bytes}.");
            }

            await using (var data = await entry.OpenAsync(cancellationToken))
            {
                await MaterializeStorageAsync(data, bytes, storage.Key, group, bigEndian, tensors, cancellationToken);
            }

            done += bytes;
            progress?.Report((done, total));
        }

        return Ordered(selected, tensors);
    }

    private static async Task<Dictionary<string, NamedTensor>> ReadLegacyAsync(
        FileStream stream,
        Action<IReadOnlyDictionary<string, IReadOnlyList<int>>>? beforeMaterializing,
        IProgress<(long read, long? total)>? progress,
        CancellationToken cancellationToken)
    {
        long fileLength = stream.Length;
        long Remaining() => Math.Min(MaxPickleBytes, fileLength - stream.Position);

        var unpickler = new TorchUnpickler();
        object? magic = unpickler.Load(PickleScanner.ReadOne(stream, Remaining(), "the header"));
        if (magic is not BigInteger number || number != s_legacyMagic)
        {
            throw new CheckpointException("it is a pickle but not a PyTorch checkpoint (no PyTorch magic number).");
        }

        object? protocol = unpickler.Load(PickleScanner.ReadOne(stream, Remaining(), "the protocol version"));
        if (protocol is not LegacyProtocolVersion)
        {
            throw new CheckpointException($"the checkpoint uses legacy protocol {protocol}; only {LegacyProtocolVersion} is known.");
        }

        if (unpickler.Load(PickleScanner.ReadOne(stream, Remaining(), "the system information")) is not Hashtable systemInfo)
        {
            throw new CheckpointException("the checkpoint is malformed: its system information is not a dict.");
        }

        // Legacy storages are raw bytes in the writer's byte order; every machine that saved these was little-endian.
        if (systemInfo["little_endian"] is not true)
        {
            throw new CheckpointException("the checkpoint was written on a big-endian machine, which the legacy format reader does not support.");
        }

        object? root = unpickler.Load(PickleScanner.ReadOne(stream, Remaining(), "the main pickle"));
        if (unpickler.Load(PickleScanner.ReadOne(stream, Remaining(), "the storage list")) is not ArrayList keyList
            || keyList.Cast<object?>().Any(k => k is not string))
        {
            throw new CheckpointException("the checkpoint is malformed: its storage list is not a list of keys.");
        }

        var selected = SelectTensors(root, beforeMaterializing);
        var byStorage = selected.GroupBy(t => t.View.Storage.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var tensors = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
        long total = byStorage.Values.Sum(g => StorageBytes(g[0].View.Storage, fileLength));
        long done = 0;
        var header = new byte[8];
        foreach (string key in keyList.Cast<string>())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!unpickler.Storages.TryGetValue(key, out var storage))
            {
                throw new CheckpointException($"the checkpoint is malformed: storage '{key}' is listed but no tensor describes it.");
            }

            await ReadExactlyAsync(stream, header, key, cancellationToken);
            long count = BinaryPrimitives.ReadInt64LittleEndian(header);
            if (count != storage.ElementCount)
            {
                throw new CheckpointException(
                    $"the checkpoint is malformed: storage '{key}' holds {count} elements, its description says {storage.ElementCount}.");
            }

            int bytes = StorageBytes(storage, fileLength);
            if (bytes > fileLength - stream.Position)
            {
                throw new CheckpointException($"the checkpoint is truncated: storage '{key}' needs {bytes} bytes, {fileLength - stream.Position} remain.");
            }

            if (!byStorage.Remove(key, out var views))
            {
                stream.Seek(bytes, SeekOrigin.Current);
                continue;
            }

            await MaterializeStorageAsync(stream, bytes, key, views, bigEndian: false, tensors, cancellationToken);

            done += bytes;
            progress?.Report((done, total));
        }

        if (byStorage.Count > 0)
        {
            throw new CheckpointException(
                $"the checkpoint is malformed: the data of storage '{byStorage.Keys.First()}' (tensor '{byStorage.Values.First()[0].Key}') is missing.");
        }

        return Ordered(selected, tensors);
    }

    /// <summary>
    /// Reads one storage's <paramref name="bytes"/> from <paramref name="data"/> into a pooled buffer and adds every
    /// tensor that views it to <paramref name="tensors"/>; the buffer goes back to the pool before the next storage.
    /// </summary>
    private static async Task MaterializeStorageAsync(
        Stream data, int bytes, string storageKey, IEnumerable<(string Key, TensorView View)> views, bool bigEndian,
        Dictionary<string, NamedTensor> tensors, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(bytes);
        try
        {
            await ReadExactlyAsync(data, buffer.AsMemory(0, bytes), storageKey, cancellationToken);
            foreach (var (key, view) in views)
            {
                tensors.Add(key, new NamedTensor(key, view.Shape, TensorMaterializer.Materialize(key, view, buffer.AsSpan(0, bytes), bigEndian)));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task ReadExactlyAsync(Stream stream, Memory<byte> buffer, string storageKey, CancellationToken cancellationToken)
    {
        try
        {
            await stream.ReadExactlyAsync(buffer, cancellationToken);
        }
        catch (EndOfStreamException ex)
        {
            throw new CheckpointException($"the checkpoint is truncated: the data of storage '{storageKey}' ends early.", ex);
        }
    }

    /// <summary>The storage's size in bytes, refused when the file could not possibly hold it.</summary>
    private static int StorageBytes(StorageInfo storage, long fileLength)
    {
        long bytes = storage.ElementCount * storage.Type.ElementSize();
        if (storage.ElementCount > Array.MaxLength || bytes > fileLength || bytes > Array.MaxLength)
        {
            throw new CheckpointException(
                $"the checkpoint is malformed: storage '{storage.Key}' claims {storage.ElementCount} elements, more than the file ({fileLength} bytes) holds.");
        }

        return (int)bytes;
    }

    /// <summary>Finds the state_dict in the unpickled object and checks every entry is a tensor.</summary>
    private static List<(string Key, TensorView View)> SelectTensors(
        object? root, Action<IReadOnlyDictionary<string, IReadOnlyList<int>>>? beforeMaterializing)
    {
        if (root is not Hashtable dict)
        {
            throw new CheckpointException(
                $"it holds a {Describe(root)}, not a state_dict; save the weights with torch.save(model.state_dict(), path).");
        }

        if (!dict.Values.OfType<TensorView>().Any() && dict["state_dict"] is Hashtable wrapped)
        {
            dict = wrapped;
        }

        var tensors = new List<(string Key, TensorView View)>(dict.Count);
        foreach (DictionaryEntry entry in dict)
        {
            if (entry.Key is not string key)
            {
                throw new CheckpointException("it is not a state_dict: a key is not a string.");
            }

            if (entry.Value is not TensorView view)
            {
                throw new CheckpointException($"it is not a plain state_dict: entry '{key}' is a {Describe(entry.Value)}, not a tensor.");
            }

            tensors.Add((key, view));
        }

        if (tensors.Count == 0)
        {
            throw new CheckpointException("it holds no tensors.");
        }

        // torch.nn.DataParallel prefixes every name with 'module.'.
        const string parallelPrefix = "module.";
        if (tensors.TrueForAll(t => t.Key.StartsWith(parallelPrefix, StringComparison.Ordinal)))
        {
            tensors = tensors.ConvertAll(t => (t.Key[parallelPrefix.Length..], t.View));
        }

        tensors.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        if (tensors.Select(t => t.Key).Distinct(StringComparer.Ordinal).Count() != tensors.Count)
        {
            throw new CheckpointException("it is not a state_dict: two entries have the same name.");
        }

        beforeMaterializing?.Invoke(tensors.ToDictionary(t => t.Key, t => (IReadOnlyList<int>)t.View.Shape, StringComparer.Ordinal));
        TensorViewChecks.Check(tensors);
        return tensors;
    }

    private static Dictionary<string, NamedTensor> Ordered(List<(string Key, TensorView View)> selected, Dictionary<string, NamedTensor> tensors) =>
        selected.ToDictionary(t => t.Key, t => tensors[t.Key], StringComparer.Ordinal);

    private static string Describe(object? value) => value switch
    {
        null => "None",
        Hashtable => "dict",
        ArrayList => "list",
        object[] => "tuple",
        string => "string",
        int or long or BigInteger => "number",
        _ => value.GetType().Name,
    };
}

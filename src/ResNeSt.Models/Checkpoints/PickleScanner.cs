using System.Buffers.Binary;
using System.Text;

namespace ResNeSt.Models.Checkpoints;

/// <summary>
/// Reads exactly one pickle from a stream and checks it before anything unpickles it. A checkpoint is untrusted
/// input: in Python, unpickling calls whatever globals the stream names. We walk every opcode and accept only the
/// few globals a state_dict needs; anything else (os.system, builtins.eval, extension codes, out-of-band buffers,
/// globals we cannot resolve statically) is refused with a message that names it.
/// </summary>
internal static class PickleScanner
{
    /// <summary>Globals a state_dict pickle may reference (module.name).</summary>
    private static readonly HashSet<string> s_allowedGlobals = new(StringComparer.Ordinal)
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch.FloatStorage",
        "torch.HalfStorage",
        "torch.DoubleStorage",
        "torch.LongStorage",
    };

    /// <summary>
    /// Most opcodes one pickle may hold. A ResNeSt-269 state_dict's pickle has tens of thousands; a flood of cheap
    /// opcodes (empty lists, memo writes) costs the unpickler far more memory than the bytes it came in.
    /// </summary>
    internal const int MaxOpcodes = 2_000_000;

    /// <summary>Most memo slots one pickle may write (a state_dict uses a few per tensor; a flood of 16 MB wanted 2.2 GiB).</summary>
    internal const int MaxMemoSlots = 200_000;

    private static readonly Encoding s_utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly Encoding s_latin1 = Encoding.Latin1;

    /// <summary>Copies one pickle (through its STOP opcode) out of <paramref name="input"/>, validating it on the way.</summary>
    /// <param name="input">Positioned at the pickle's first byte; left just after its STOP opcode.</param>
    /// <param name="maxBytes">The most this pickle may take (bounded by what the file holds).</param>
    /// <param name="what">Names the pickle in error messages, e.g. "the main pickle".</param>
    public static byte[] ReadOne(Stream input, long maxBytes, string what)
    {
        var scan = new Scan(input, maxBytes, what);
        scan.Run();
        return scan.Output.ToArray();
    }

    private sealed class Scan(Stream input, long maxBytes, string what)
    {
        // The two most recent pushes when both are known strings (needed to resolve STACK_GLOBAL); null = unknown.
        private string? _second;
        private string? _top;
        private bool _topKnown;

        // Memo slots that hold strings (value) or something else (null); MEMOIZE numbers slots by their count.
        private readonly Dictionary<long, string?> _memo = [];

        public MemoryStream Output { get; } = new();

        private int _opcodes;

        public void Run()
        {
            while (true)
            {
                if (++_opcodes > MaxOpcodes)
                {
                    throw Fail($"holds more than {MaxOpcodes} opcodes, more than any state_dict needs");
                }

                byte op = ReadByte();
                switch (op)
                {
                    case (byte)'.': // STOP
                        return;
                    case 0x80: // PROTO
                        {
                            byte protocol = ReadByte();
                            if (protocol > 5)
                            {
                                throw Fail($"uses pickle protocol {protocol}, newer than any PyTorch writes");
                            }

                            break;
                        }

                    case 0x95: // FRAME
                        Skip(8);
                        break;

                    // Memo writes keep the stack as it is.
                    case (byte)'p': // PUT
                        Remember(ParseLong(ReadLine()));
                        break;
                    case (byte)'q': // BINPUT
                        Remember(ReadByte());
                        break;
                    case (byte)'r': // LONG_BINPUT
                        Remember(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)));
                        break;
                    case 0x94: // MEMOIZE
                        Remember(_memo.Count);
                        break;

                    // Memo reads push what the slot holds.
                    case (byte)'g': // GET
                        Recall(ParseLong(ReadLine()));
                        break;
                    case (byte)'h': // BINGET
                        Recall(ReadByte());
                        break;
                    case (byte)'j': // LONG_BINGET
                        Recall(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)));
                        break;

                    // Strings: pushes of known text.
                    case (byte)'X': // BINUNICODE
                        PushString(Utf8Text(ReadBytes(Length(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))))));
                        break;
                    case 0x8c: // SHORT_BINUNICODE
                        PushString(Utf8Text(ReadBytes(ReadByte())));
                        break;
                    case 0x8d: // BINUNICODE8
                        PushString(Utf8Text(ReadBytes(Length(BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8))))));
                        break;
                    case (byte)'V': // UNICODE (raw-unicode-escape; only plain text can name a module safely)
                        PushString(s_latin1.GetString(ReadLine()));
                        break;
                    case (byte)'S': // STRING
                        PushString(Unquote(s_latin1.GetString(ReadLine())));
                        break;
                    case (byte)'T': // BINSTRING
                        PushString(s_latin1.GetString(ReadBytes(Length(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))))));
                        break;
                    case (byte)'U': // SHORT_BINSTRING
                        PushString(s_latin1.GetString(ReadBytes(ReadByte())));
                        break;

                    // Globals: the only way a pickle reaches code.
                    case (byte)'c': // GLOBAL
                    case (byte)'i': // INST
                        {
                            string module = Utf8Text(ReadLine());
                            string name = Utf8Text(ReadLine());
                            CheckGlobal(module, name);
                            PushOther();
                            break;
                        }

                    case 0x93: // STACK_GLOBAL
                        if (_second is null || _top is null)
                        {
                            throw Fail("builds a global from values computed at load time, which cannot be checked; refusing it");
                        }

                        CheckGlobal(_second, _top);
                        PushOther();
                        break;

                    case 0x82: // EXT1
                    case 0x83: // EXT2
                    case 0x84: // EXT4
                        throw Fail("uses the copyreg extension registry (EXT opcodes), which can name arbitrary code; refusing it");
                    case 0x97: // NEXT_BUFFER
                    case 0x98: // READONLY_BUFFER
                        throw Fail("uses out-of-band buffers, which a checkpoint never does");

                    // Fixed-size arguments.
                    case (byte)'J': // BININT
                        Skip(4);
                        PushOther();
                        break;
                    case (byte)'K': // BININT1
                        Skip(1);
                        PushOther();
                        break;
                    case (byte)'M': // BININT2
                        Skip(2);
                        PushOther();
                        break;
                    case (byte)'G': // BINFLOAT
                        Skip(8);
                        PushOther();
                        break;
                    case 0x8a: // LONG1
                        Skip(ReadByte());
                        PushOther();
                        break;
                    case 0x8b: // LONG4
                        Skip(Length(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))));
                        PushOther();
                        break;
                    case (byte)'B': // BINBYTES
                        Skip(Length(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))));
                        PushOther();
                        break;
                    case (byte)'C': // SHORT_BINBYTES
                        Skip(ReadByte());
                        PushOther();
                        break;
                    case 0x8e: // BINBYTES8
                    case 0x96: // BYTEARRAY8
                        Skip(Length(BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8))));
                        PushOther();
                        break;

                    // Line arguments.
                    case (byte)'I': // INT
                    case (byte)'L': // LONG
                    case (byte)'F': // FLOAT
                    case (byte)'P': // PERSID
                        ReadLine();
                        PushOther();
                        break;

                    // No argument.
                    case (byte)'(': // MARK
                    case (byte)'0': // POP
                    case (byte)'1': // POP_MARK
                    case (byte)'2': // DUP
                    case (byte)'N': // NONE
                    case (byte)'Q': // BINPERSID
                    case (byte)'R': // REDUCE
                    case (byte)'a': // APPEND
                    case (byte)'b': // BUILD
                    case (byte)'d': // DICT
                    case (byte)'}': // EMPTY_DICT
                    case (byte)'e': // APPENDS
                    case (byte)'l': // LIST
                    case (byte)']': // EMPTY_LIST
                    case (byte)'o': // OBJ
                    case (byte)'s': // SETITEM
                    case (byte)'t': // TUPLE
                    case (byte)')': // EMPTY_TUPLE
                    case (byte)'u': // SETITEMS
                    case 0x81: // NEWOBJ
                    case 0x85: // TUPLE1
                    case 0x86: // TUPLE2
                    case 0x87: // TUPLE3
                    case 0x88: // NEWTRUE
                    case 0x89: // NEWFALSE
                    case 0x8f: // EMPTY_SET
                    case 0x90: // ADDITEMS
                    case 0x91: // FROZENSET
                    case 0x92: // NEWOBJ_EX
                        PushOther();
                        break;

                    default:
                        throw Fail($"contains byte 0x{op:x2} at offset {Output.Length - 1}, which is not a pickle opcode (the file is corrupt or not a checkpoint)");
                }
            }
        }

        private void CheckGlobal(string module, string name)
        {
            string qualified = module + "." + name;
            if (s_allowedGlobals.Contains(qualified))
            {
                return;
            }

            if (module == "torch" && name.EndsWith("Storage", StringComparison.Ordinal))
            {
                throw new CheckpointException(
                    $"it holds a {qualified} tensor; only float32, float16, float64 and int64 tensors are supported.");
            }

            throw new CheckpointException(
                $"refused: {what} references '{qualified}', which a plain state_dict never contains (unpickling it in Python " +
                "would run that code, so the file may be malicious). Only state_dicts of tensors are accepted: " +
                "save the weights with torch.save(model.state_dict(), path).");
        }

        private void PushString(string value)
        {
            _second = _topKnown ? _top : null;
            _top = value;
            _topKnown = true;
        }

        // Any push of a non-string, or any opcode that rearranges the stack: the recent strings are no longer known.
        private void PushOther()
        {
            _second = null;
            _top = null;
            _topKnown = false;
        }

        // Python's STRING argument is one quoted repr: exactly one pair of matching quotes is removed, as the unpickler does.
        private string Unquote(string text) =>
            text.Length >= 2 && text[0] is '\'' or '"' && text[^1] == text[0]
                ? text[1..^1]
                : throw Fail("has a STRING opcode whose argument is not quoted (the file is corrupt)");

        private void Remember(long slot)
        {
            if (_memo.Count >= MaxMemoSlots && !_memo.ContainsKey(slot))
            {
                throw Fail($"writes more than {MaxMemoSlots} memo slots, more than any state_dict needs");
            }

            _memo[slot] = _topKnown ? _top : null;
        }

        private void Recall(long slot)
        {
            if (!_memo.TryGetValue(slot, out string? value))
            {
                throw Fail($"reads memo slot {slot} before writing it (the file is corrupt)");
            }

            if (value is null)
            {
                PushOther();
            }
            else
            {
                PushString(value);
            }
        }

        private int Length(ulong length)
        {
            if (length > (ulong)(maxBytes - Output.Length))
            {
                throw Fail($"declares a {length}-byte value, more than the file holds (the file is truncated or corrupt)");
            }

            return (int)length;
        }

        private byte ReadByte()
        {
            if (Output.Length >= maxBytes)
            {
                throw Fail("ends early or runs past the end of its data (the file is truncated or corrupt)");
            }

            int b = input.ReadByte();
            if (b < 0)
            {
                throw Fail("ends early or runs past the end of its data (the file is truncated or corrupt)");
            }

            Output.WriteByte((byte)b);
            return (byte)b;
        }

        private byte[] ReadBytes(int count)
        {
            if (count > maxBytes - Output.Length)
            {
                throw Fail("ends early or runs past the end of its data (the file is truncated or corrupt)");
            }

            var buffer = new byte[count];
            try
            {
                input.ReadExactly(buffer);
            }
            catch (EndOfStreamException)
            {
                throw Fail("ends early or runs past the end of its data (the file is truncated or corrupt)");
            }

            Output.Write(buffer);
            return buffer;
        }

        private void Skip(int count) => ReadBytes(count);

        private byte[] ReadLine()
        {
            var line = new List<byte>();
            while (true)
            {
                byte b = ReadByte();
                if (b == (byte)'\n')
                {
                    return [.. line];
                }

                if (line.Count >= 4096)
                {
                    throw Fail("holds a text line longer than any checkpoint writes (the file is corrupt)");
                }

                line.Add(b);
            }
        }

        private long ParseLong(byte[] line) =>
            long.TryParse(s_latin1.GetString(line), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long value)
                ? value
                : throw Fail("has a malformed memo index (the file is corrupt)");

        private string Utf8Text(byte[] bytes)
        {
            try
            {
                return s_utf8.GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw Fail("holds text that is not UTF-8 (the file is corrupt)");
            }
        }

        private CheckpointException Fail(string problem) =>
            new($"the checkpoint is malformed: {what} {problem}.");
    }
}

using System.Runtime.InteropServices;

namespace MlOps.Client.XGBoost.Native;

/// <summary>UTF-8 string arrays across the C API.</summary>
internal static unsafe class Utf8
{
    internal static string[] ReadArray(nint* strings, ulong count)
    {
        var result = new string[checked((int)count)];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = Marshal.PtrToStringUTF8(strings[i]) ?? "";
        }

        return result;
    }

    /// <summary>A native <c>const char*[]</c> holding copies of the strings; freed on dispose.</summary>
    internal sealed class StringArray : IDisposable
    {
        private readonly nint[] _strings;
        private GCHandle _pin;

        public StringArray(IReadOnlyList<string> values)
        {
            _strings = new nint[Math.Max(1, values.Count)];
            for (var i = 0; i < values.Count; i++)
            {
                _strings[i] = Marshal.StringToCoTaskMemUTF8(values[i]);
            }

            _pin = GCHandle.Alloc(_strings, GCHandleType.Pinned);
        }

        public nint* Pointer => (nint*)_pin.AddrOfPinnedObject();

        public void Dispose()
        {
            foreach (var s in _strings)
            {
                if (s != 0)
                {
                    Marshal.FreeCoTaskMem(s);
                }
            }

            _pin.Free();
        }
    }
}

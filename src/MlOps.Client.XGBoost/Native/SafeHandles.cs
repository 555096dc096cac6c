using System.Runtime.InteropServices;

namespace MlOps.Client.XGBoost.Native;

/// <summary>
/// A native XGBoost handle, freed exactly once and never while a native call holds it, that reports the native memory
/// it holds to the GC (<c>GC.AddMemoryPressure</c>) so that code relying on finalizers stays bounded.
/// </summary>
internal abstract class XGBoostSafeHandle : SafeHandle
{
    private long _pressure;

    protected XGBoostSafeHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == nint.Zero;

    /// <summary>Reports <paramref name="bytes"/> of native memory, replacing what was reported before.</summary>
    public void SetPressure(long bytes)
    {
        bytes = Math.Max(0, bytes);
        var previous = Interlocked.Exchange(ref _pressure, bytes);
        if (bytes > previous)
        {
            GC.AddMemoryPressure(bytes - previous);
        }
        else if (previous > bytes)
        {
            GC.RemoveMemoryPressure(previous - bytes);
        }
    }

    protected sealed override bool ReleaseHandle()
    {
        var freed = Free(handle);
        if (Interlocked.Exchange(ref _pressure, 0) is > 0 and var bytes)
        {
            GC.RemoveMemoryPressure(bytes);
        }

        return freed;
    }

    /// <summary>Frees the native object.</summary>
    protected abstract bool Free(nint native);
}

/// <summary>Owns a <c>DMatrixHandle</c>.</summary>
internal sealed class SafeDMatrixHandle : XGBoostSafeHandle
{
    protected override bool Free(nint native) => NativeMethods.XGDMatrixFree(native) == 0;
}

/// <summary>Owns a <c>BoosterHandle</c>.</summary>
internal sealed class SafeBoosterHandle : XGBoostSafeHandle
{
    protected override bool Free(nint native) => NativeMethods.XGBoosterFree(native) == 0;
}

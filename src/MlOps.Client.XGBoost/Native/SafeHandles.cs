using System.Runtime.InteropServices;

namespace MlOps.Client.XGBoost.Native;

/// <summary>Owns a <c>DMatrixHandle</c>; freed exactly once, never while a native call holds it.</summary>
internal sealed class SafeDMatrixHandle : SafeHandle
{
    public SafeDMatrixHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == nint.Zero;

    /// <summary>Tells the GC how much native memory the matrix holds, so that finalizer-only use stays bounded.</summary>
    public void AddPressure(long bytes)
    {
        if (bytes > 0 && Interlocked.CompareExchange(ref _pressure, bytes, 0) == 0)
        {
            GC.AddMemoryPressure(bytes);
        }
    }

    private long _pressure;

    protected override bool ReleaseHandle()
    {
        var freed = NativeMethods.XGDMatrixFree(handle) == 0;
        if (Interlocked.Exchange(ref _pressure, 0) is > 0 and var bytes)
        {
            GC.RemoveMemoryPressure(bytes);
        }

        return freed;
    }
}

/// <summary>Owns a <c>BoosterHandle</c>; freed exactly once, never while a native call holds it.</summary>
internal sealed class SafeBoosterHandle : SafeHandle
{
    public SafeBoosterHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == nint.Zero;

    /// <summary>Reports the model's native size to the GC, replacing the size reported before.</summary>
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

    private long _pressure;

    protected override bool ReleaseHandle()
    {
        var freed = NativeMethods.XGBoosterFree(handle) == 0;
        if (Interlocked.Exchange(ref _pressure, 0) is > 0 and var bytes)
        {
            GC.RemoveMemoryPressure(bytes);
        }

        return freed;
    }
}

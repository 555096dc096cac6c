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

    protected override bool ReleaseHandle() => NativeMethods.XGDMatrixFree(handle) == 0;
}

/// <summary>Owns a <c>BoosterHandle</c>; freed exactly once, never while a native call holds it.</summary>
internal sealed class SafeBoosterHandle : SafeHandle
{
    public SafeBoosterHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == nint.Zero;

    protected override bool ReleaseHandle() => NativeMethods.XGBoosterFree(handle) == 0;
}

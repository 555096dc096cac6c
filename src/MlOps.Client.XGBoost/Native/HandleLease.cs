using System.Runtime.InteropServices;

namespace MlOps.Client.XGBoost.Native;

/// <summary>
/// Keeps a native handle alive across a native call <b>and</b> the copy of what it returned: XGBoost's result buffers
/// belong to the matrix or booster, so the handle must not be freed (by <c>Dispose</c> on another thread, or by the
/// finalizer of a temporary) until the copy is done. Taking a lease on a disposed object throws
/// <see cref="ObjectDisposedException"/>; <c>Dispose</c> during a lease marks the object disposed at once and frees
/// it when the last lease ends.
/// </summary>
internal ref struct HandleLease<T>
    where T : SafeHandle
{
    private bool _added;

    public HandleLease(T handle, object owner)
    {
        Handle = handle;
        _added = false;
        try
        {
            handle.DangerousAddRef(ref _added);
        }
        catch (ObjectDisposedException)
        {
            throw new ObjectDisposedException(owner.GetType().Name, $"The {owner.GetType().Name} was disposed.");
        }
    }

    /// <summary>The handle, valid until the lease ends.</summary>
    public T Handle { get; }

    public void Dispose()
    {
        if (_added)
        {
            _added = false;
            Handle.DangerousRelease();
        }
    }
}

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

    public HandleLease(T handle, INativeOwner owner)
    {
        Handle = handle;
        _added = false;
        if (owner.IsDisposed)
        {
            throw Disposed(owner);
        }

        try
        {
            handle.DangerousAddRef(ref _added);
        }
        catch (ObjectDisposedException)
        {
            throw Disposed(owner);
        }

        // SafeHandle alone keeps accepting references while others hold one (it closes only when the count reaches
        // zero), so calls on other threads could keep a disposed object alive for ever: the owner's flag decides.
        if (owner.IsDisposed)
        {
            Dispose();
            throw Disposed(owner);
        }
    }

    /// <summary>The handle, valid until the lease ends.</summary>
    public T Handle { get; }

    private static ObjectDisposedException Disposed(INativeOwner owner) =>
        new(owner.GetType().Name, $"The {owner.GetType().Name} was disposed.");

    public void Dispose()
    {
        if (_added)
        {
            _added = false;
            Handle.DangerousRelease();
        }
    }
}

/// <summary>An object that owns a native handle and knows whether it was disposed (set before the handle is released).</summary>
internal interface INativeOwner
{
    bool IsDisposed { get; }
}

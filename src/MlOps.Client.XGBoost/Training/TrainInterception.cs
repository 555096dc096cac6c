namespace MlOps.Client.XGBoost;

/// <summary>
/// What may take over <see cref="XGBoost.Train"/> (autologging registers itself here): the training entry point hands
/// each request to it instead of training directly — unless it is suppressed on this flow, as it is while the
/// interceptor itself trains. Training knows nothing of who intercepts; autologging depends on training, not back.
/// </summary>
internal static class TrainInterception
{
    private static readonly AsyncLocal<bool> SuppressedSlot = new();
    private static ITrainInterceptor? s_current;

    /// <summary>The interceptor, or <see langword="null"/>.</summary>
    public static ITrainInterceptor? Current => Volatile.Read(ref s_current);

    /// <summary>True on a flow where training must not be intercepted (the interceptor's own training: nested calls are not logged twice).</summary>
    public static bool Suppressed
    {
        get => SuppressedSlot.Value;
        set => SuppressedSlot.Value = value;
    }

    /// <summary>Sets (or, with <see langword="null"/>, removes) the interceptor, replacing an earlier one.</summary>
    public static void Set(ITrainInterceptor? interceptor) => Volatile.Write(ref s_current, interceptor);

    /// <summary>Removes <paramref name="interceptor"/> if it is still the current one.</summary>
    public static void Clear(ITrainInterceptor interceptor) => Interlocked.CompareExchange(ref s_current, null, interceptor);
}

/// <summary>Takes over a training request (see <see cref="TrainInterception"/>).</summary>
internal interface ITrainInterceptor
{
    /// <summary>Trains <paramref name="request"/> (normally through <see cref="XGBoost.TrainCore"/>) and returns the booster.</summary>
    Booster Train(TrainRequest request, CancellationToken cancellationToken);
}

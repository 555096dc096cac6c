namespace MlOps.Client.Uploading;

/// <summary>Groups drained entities by run and packs them into requests within MLflow's limits, oldest first.</summary>
internal static class BatchPacker
{
    /// <summary>
    /// Packs <paramref name="entities"/> into <see cref="Batch"/>es: one open log-batch per run, a new one when the open
    /// one is full. A run end closes its run's open batch and follows it, so it is never sent before them.
    /// </summary>
    public static List<Batch> Pack(ReadOnlySpan<PendingEntity> entities)
    {
        var open = new Dictionary<string, Batch>(StringComparer.Ordinal);
        var result = new List<Batch>();
        foreach (ref readonly var e in entities)
        {
            if (e.Kind == EntityKind.RunEnd)
            {
                open.Remove(e.RunId);
                result.Add(Batch.ForRunEnd(e.RunId, (RunStatus)(int)e.Step, e.Timestamp));
                continue;
            }

            if (!open.TryGetValue(e.RunId, out var batch) || !batch.CanAdd(e.Kind))
            {
                batch = new Batch(e.RunId);
                open[e.RunId] = batch;
                result.Add(batch);
            }

            batch.Add(in e);
        }

        return result;
    }
}

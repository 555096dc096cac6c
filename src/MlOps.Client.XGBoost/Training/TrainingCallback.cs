namespace MlOps.Client.XGBoost;

/// <summary>
/// Hooks into <see cref="XGBoost.Train"/> (Python's <c>xgboost.callback.TrainingCallback</c>). Override what you need;
/// returning <see langword="true"/> from an iteration hook stops training.
/// </summary>
public abstract class TrainingCallback
{
    /// <summary>Called once before the first iteration.</summary>
    /// <param name="model">The booster being trained.</param>
    public virtual void BeforeTraining(Booster model)
    {
    }

    /// <summary>Called before each iteration; return <see langword="true"/> to stop before it.</summary>
    /// <param name="model">The booster.</param>
    /// <param name="iteration">The iteration about to run (0-based).</param>
    /// <param name="log">The evaluation history so far.</param>
    public virtual bool BeforeIteration(Booster model, int iteration, EvaluationLog log) => false;

    /// <summary>Called after each iteration with its evaluation results in <paramref name="log"/>; return <see langword="true"/> to stop.</summary>
    /// <param name="model">The booster.</param>
    /// <param name="iteration">The iteration that ran (0-based).</param>
    /// <param name="log">The evaluation history, including this iteration (<see cref="EvaluationLog.Latest"/>).</param>
    public virtual bool AfterIteration(Booster model, int iteration, EvaluationLog log) => false;

    /// <summary>Called once after training (also when a callback stopped it).</summary>
    /// <param name="model">The trained booster.</param>
    public virtual void AfterTraining(Booster model)
    {
    }
}

using MlOps.Client.Serving.Input;
using MlOps.Client.Serving.Output;

namespace MlOps.Client.Serving.Flavors;

/// <summary>A loaded model of one flavor, predicting for enforced requests; shared by concurrent requests.</summary>
internal interface IServingFlavor : IDisposable
{
    /// <summary>The flavor name in <c>MLmodel</c>.</summary>
    string Name { get; }

    /// <summary>The input the model takes when its <c>MLmodel</c> has no signature (from the model itself).</summary>
    InputSchema NativeSchema { get; }

    /// <summary>Refuses (at load) an input the model cannot take, e.g. a signature of another width.</summary>
    /// <exception cref="NotSupportedException">The signature does not fit the model.</exception>
    void Check(InputSchema input);

    /// <summary>Predicts; throws <see cref="ArgumentException"/>/<see cref="InvalidOperationException"/> for input the model refuses.</summary>
    Predictions Predict(EnforcedInput input);
}

using Microsoft.ML;
using Microsoft.ML.Data;
using MlOps.Client.MLNet.Autologging;
using MlOps.Client.Stores;
using MlOps.Client.Tracking;

namespace MlOps.Client.MLNet.Tests;

public sealed class Flower
{
    public float SepalLength { get; set; }

    public float SepalWidth { get; set; }

    public float PetalLength { get; set; }

    public float PetalWidth { get; set; }

    public string Species { get; set; } = "";
}

/// <summary>An embedded store in a temporary folder, a tracker on it, and iris as a data view.</summary>
public sealed class MLNetFixture : IAsyncDisposable
{
    public static readonly string[] SpeciesNames = ["setosa", "versicolor", "virginica"];

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-mlnet-");

    public MLNetFixture()
    {
        Store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db"));
        Tracker = new Tracker(Store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
        Context = new MLContext(seed: 1);
        Flowers = [.. File.ReadLines(Path.Combine(AppContext.BaseDirectory, "data", "iris.csv")).Skip(1).Select(l => l.Split(','))
            .Select(p => new Flower
            {
                SepalLength = float.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture),
                SepalWidth = float.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture),
                PetalLength = float.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture),
                PetalWidth = float.Parse(p[3], System.Globalization.CultureInfo.InvariantCulture),
                Species = SpeciesNames[int.Parse(p[4], System.Globalization.CultureInfo.InvariantCulture)],
            })];
        Data = Context.Data.LoadFromEnumerable(Flowers);
    }

    public SqliteTrackingStore Store { get; }

    public Tracker Tracker { get; }

    public MLContext Context { get; }

    public IReadOnlyList<Flower> Flowers { get; }

    public IDataView Data { get; }

    public EstimatorChain<Microsoft.ML.Transforms.KeyToValueMappingTransformer> SdcaPipeline(float l2 = 0.01f) =>
        Context.Transforms.Conversion.MapValueToKey("Label", nameof(Flower.Species))
            .Append(Context.Transforms.Concatenate("Features", nameof(Flower.SepalLength), nameof(Flower.SepalWidth), nameof(Flower.PetalLength), nameof(Flower.PetalWidth)))
            .Append(Context.MulticlassClassification.Trainers.SdcaMaximumEntropy(new Microsoft.ML.Trainers.SdcaMaximumEntropyMulticlassTrainer.Options { L2Regularization = l2, MaximumNumberOfIterations = 50, NumberOfThreads = 1 }))
            .Append(Context.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

    public string ArtifactRoot(Run run) => new Uri(run.Info.ArtifactUri!).LocalPath;

    public async Task<IReadOnlyList<Run>> RunsAsync()
    {
        var options = new SearchRunsOptions();
        options.ExperimentIds.Add(await Tracker.GetExperimentIdAsync());
        return (await Store.SearchRunsPageAsync(options, null, default)).Values;
    }

    public async ValueTask DisposeAsync()
    {
        MLNetAutolog.Current?.Dispose();
        await Tracker.DisposeAsync();
        await Store.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MLNetCollection
{
    public const string Name = "mlnet";
}

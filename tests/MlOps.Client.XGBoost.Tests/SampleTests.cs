using System.Globalization;
using Microsoft.Data.Sqlite;
using MlOps.Client.Testing;
using XGBoostIris;

namespace MlOps.Client.XGBoost.Tests;

/// <summary>The seed example: same rows as scikit-learn's split, same figures as the Python program with XGBoost 1.7.4.</summary>
[Collection(XGBoostCollection.Name)]
public sealed class SampleTests
{
    [XGBoostFact]
    public void The_split_has_scikit_learns_rows_in_order()
    {
        var (xTrain, yTrain, xTest, yTest) = Iris.LoadSplit();
        Assert.Equal(105, xTrain.Length);
        Assert.Equal(45, xTest.Length);
        Assert.Equal([5.4f, 3.7f, 1.5f, 0.2f], xTrain[0]); // row 10 of iris.csv comes first
        Assert.Equal(0f, yTrain[0]);
        Assert.Equal(150, xTrain.Concat(xTest).Select(r => string.Join(",", r)).Count());
        Assert.Equal(45, yTest.Length);
    }

    [XGBoost174Fact]
    public void The_port_reaches_pythons_log_loss_and_accuracy()
    {
        var (xTrain, yTrain, xTest, yTest) = Iris.LoadSplit();
        using var dtrain = new DMatrix(xTrain, yTrain);
        using var dtest = new DMatrix(xTest, yTest);
        var history = new EvaluationLog();
        using var model = XGBoost.Train(
            new Dictionary<string, object?> { ["objective"] = "multi:softprob", ["num_class"] = 3, ["learning_rate"] = 1, ["eval_metric"] = "mlogloss", ["seed"] = 42 },
            dtrain, evals: [(dtrain, "train")], evalsResult: history);
        var proba = model.Predict(dtest);
        Assert.Equal(0.163284836, Metrics.LogLoss(yTest, proba, 3), 1e-6);
        Assert.Equal(0.933333333, Metrics.Accuracy(yTest, proba, 3), 1e-9);
        Assert.Equal(0.2630811807655153, history["train", "mlogloss"][0], 1e-12); // python-client/xgboost-iris-history-train-mlogloss.json
        Assert.Equal(0.02123498513052861, history["train", "mlogloss"][9], 1e-12);
    }

    /// <summary>
    /// The seed example's figures per libxgboost version: 1.7.4's are Python's (recorded with xgboost 1.7.4); 2.1.4's and 3.4.1's
    /// were printed by the sample on libxgboost built from those release sources — the library Python's wheels wrap —
    /// since no Python 3.x run could be recorded here (no Python package index).
    /// </summary>
    private static readonly Dictionary<Version, (string LogLoss, string Accuracy, int Correct)> Figures = new()
    {
        [new Version(1, 7, 4)] = ("0.163284836", "0.933333333", 42),
        [new Version(2, 1, 4)] = ("0.166418099", "0.955555556", 43),
        [new Version(3, 4, 1)] = ("0.165332791", "0.955555556", 43),
    };

    [XGBoostFact]
    public async Task The_sample_runs_with_no_server_and_prints_the_figures()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-xgbiris-");
        try
        {
            var output = await SampleProcess.RunAsync("XGBoostIris.dll", dir.FullName, TimeSpan.FromSeconds(120));
            var known = Figures.TryGetValue(Booster.LibraryVersion, out var figures);
            if (known)
            {
                Assert.Contains("log_loss=" + figures.LogLoss, output, StringComparison.Ordinal);
                Assert.Contains("accuracy=" + figures.Accuracy, output, StringComparison.Ordinal);
            }

            var runId = SampleProcess.RunId(output);
            Assert.Equal($"runs:/{runId}/model", SampleProcess.Value(output, "MODEL_URI")); // a 2.22 mlflow.db: the run's model
            using var db = new SqliteConnection("Data Source=" + Path.Combine(dir.FullName, "mlflow.db") + ";Pooling=False");
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"SELECT status FROM runs WHERE run_uuid = '{runId}'";
            Assert.Equal("FINISHED", cmd.ExecuteScalar());
            cmd.CommandText = $"SELECT count(*) FROM metrics WHERE run_uuid = '{runId}' AND key = 'train-mlogloss'";
            Assert.Equal(10L, cmd.ExecuteScalar());
            cmd.CommandText = $"SELECT count(*) FROM params WHERE run_uuid = '{runId}'";
            Assert.Equal(10L, cmd.ExecuteScalar());
            cmd.CommandText = $"SELECT value FROM metrics WHERE run_uuid = '{runId}' AND key = 'accuracy'";
            var accuracy = Convert.ToDouble(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
            if (known)
            {
                Assert.Equal(figures.Correct / 45.0, accuracy, 1e-12);
            }
            else
            {
                Assert.InRange(accuracy, 40.0 / 45, 1.0); // a version without recorded figures: iris is still learned
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }
}

/// <summary>samples/XGBoostSweep: the iris example as a 20-trial sweep of nested runs, with no server.</summary>
[Collection(XGBoostCollection.Name)]
public sealed class SweepSampleTests
{
    [XGBoostFact]
    public async Task The_sweep_sample_runs_20_nested_trials_and_records_the_best_on_the_parent()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-xgbsweep-");
        try
        {
            var output = await SampleProcess.RunAsync("XGBoostSweep.dll", dir.FullName, TimeSpan.FromMinutes(3));
            Assert.Contains("20 trials, 0 failed", output, StringComparison.Ordinal);
            string Value(string key) => SampleProcess.Value(output, key);
            var parent = Value("PARENT_RUN_ID");
            using var db = new SqliteConnection("Data Source=" + Path.Combine(dir.FullName, "mlflow.db") + ";Pooling=False");
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"SELECT count(*) FROM tags t JOIN runs r ON r.run_uuid = t.run_uuid WHERE t.key = 'mlflow.parentRunId' AND t.value = '{parent}' AND r.status = 'FINISHED'";
            Assert.Equal(20L, cmd.ExecuteScalar());
            cmd.CommandText = $"SELECT value FROM tags WHERE run_uuid = '{parent}' AND key = 'best_trial_run_id'";
            Assert.Equal(Value("BEST_RUN_ID"), cmd.ExecuteScalar());
            cmd.CommandText = $"SELECT min(m.value) FROM metrics m JOIN tags t ON t.run_uuid = m.run_uuid WHERE t.key = 'mlflow.parentRunId' AND t.value = '{parent}' AND m.key = 'log_loss'";
            var bestChild = Convert.ToDouble(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
            cmd.CommandText = $"SELECT value FROM metrics WHERE run_uuid = '{parent}' AND key = 'log_loss'";
            Assert.Equal(bestChild, Convert.ToDouble(cmd.ExecuteScalar(), CultureInfo.InvariantCulture));
            cmd.CommandText = $"SELECT count(*) FROM params WHERE run_uuid = '{parent}'";
            Assert.Equal(4L, cmd.ExecuteScalar()); // the best trial's four parameters
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }
}

/// <summary>A test whose reference figures are those of libxgboost 1.7.4 (Debian 12's libxgboost0): skipped, with the reason, for another version.</summary>
public sealed class XGBoost174FactAttribute : FactAttribute
{
    public XGBoost174FactAttribute()
    {
        if (Libxgboost.SkipReason is { } missing)
        {
            Skip = missing;
            return;
        }

        try
        {
            if (Booster.LibraryVersion != new Version(1, 7, 4))
            {
                Skip = $"The reference figures are libxgboost 1.7.4's (Python's run); this machine has {Booster.LibraryVersion}.";
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or XGBoostException or EntryPointNotFoundException)
        {
            // No library: let the test run and fail with the binding's own message (CI installs libxgboost0).
        }
    }
}

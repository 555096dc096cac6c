using Microsoft.Data.Sqlite;
using MlOps.Client.Testing;

namespace MlOps.Client.MLNet.Tests;

[Collection(MLNetCollection.Name)]
public sealed class SampleTests
{
    [Fact]
    public async Task The_sample_runs_with_no_server_and_logs_fit_evaluation_folds_and_a_loadable_model()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-mlnet-sample-");
        try
        {
            var output = await SampleProcess.RunAsync("MLNetAutolog.dll", dir.FullName, TimeSpan.FromSeconds(180));
            Assert.Contains("-> versicolor", output, StringComparison.Ordinal);
            var runId = SampleProcess.RunId(output);

            using var db = new SqliteConnection("Data Source=" + Path.Combine(dir.FullName, "mlflow.db") + ";Pooling=False");
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT count(*) FROM runs WHERE status = 'FINISHED'";
            Assert.Equal(7L, cmd.ExecuteScalar()); // sdca + 5 folds + fast tree
            cmd.CommandText = $"SELECT count(*) FROM tags WHERE key = 'mlflow.parentRunId' AND value = '{runId}'";
            Assert.Equal(5L, cmd.ExecuteScalar());
            cmd.CommandText = $"SELECT value FROM params WHERE run_uuid = '{runId}' AND key = 'pipeline'";
            Assert.Equal("ValueToKeyMapping -> ColumnConcatenating -> Normalizing -> SdcaMaximumEntropy -> KeyToValueMapping", cmd.ExecuteScalar());
            cmd.CommandText = $"SELECT count(*) FROM metrics WHERE run_uuid = '{runId}' AND key IN ('test_micro_accuracy', 'cv_micro_accuracy_mean', 'cv_micro_accuracy_std', 'test_per_class_log_loss_setosa')";
            Assert.Equal(4L, cmd.ExecuteScalar());
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }
}

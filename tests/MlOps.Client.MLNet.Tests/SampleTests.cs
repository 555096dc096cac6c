using System.Diagnostics;
using Microsoft.Data.Sqlite;

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
            var start = new ProcessStartInfo("dotnet") { WorkingDirectory = dir.FullName, RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MLNetAutolog.dll"));
            foreach (var name in new[] { "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID" })
            {
                start.Environment.Remove(name);
            }

            using var process = Process.Start(start)!;
            var output = await process.StandardOutput.ReadToEndAsync();
            var error = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(180));
            Assert.True(process.ExitCode == 0, output + error);
            Assert.Contains("-> versicolor", output, StringComparison.Ordinal);
            var runId = output.Split('\n').Single(l => l.StartsWith("RUN_ID=", StringComparison.Ordinal))["RUN_ID=".Length..].Trim();

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

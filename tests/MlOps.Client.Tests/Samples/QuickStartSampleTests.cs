using Microsoft.Data.Sqlite;
using MlOps.Client.Testing;

namespace MlOps.Client.Tests.Samples;

/// <summary>The README's first command works on a fresh machine: QuickStart with no server writes ./mlflow.db.</summary>
public class QuickStartSampleTests
{
    /// <summary>The sample's own build output (samples/QuickStart/bin/&lt;configuration&gt;/net10.0/&lt;this machine's runtime&gt;/).</summary>
    private static string QuickStartDll()
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)); // tests/MlOps.Client.Tests/bin/<configuration>/net10.0
        var configuration = testOutput.Parent!.Name;
        var bin = Path.Combine(SampleProcess.RepositoryRoot(), "samples", "QuickStart", "bin", configuration);
        var found = Directory.Exists(bin) ? Directory.GetFiles(bin, "QuickStart.dll", SearchOption.AllDirectories) : [];
        Assert.True(found.Length > 0, $"QuickStart.dll not found under {bin}: build the solution first");
        return found.OrderByDescending(File.GetLastWriteTimeUtc).First();
    }

    [Fact]
    public async Task QuickStart_runs_with_no_server_and_writes_an_MLflow_database()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-quickstart-");
        try
        {
            var output = await SampleProcess.RunAsync(QuickStartDll(), dir.FullName, TimeSpan.FromSeconds(120));
            Assert.Contains("Logged to sqlite:///mlflow.db", output, StringComparison.Ordinal);
            Assert.Contains("mlflow ui --backend-store-uri sqlite:///mlflow.db", output, StringComparison.Ordinal);

            using var db = new SqliteConnection("Data Source=" + Path.Combine(dir.FullName, "mlflow.db") + ";Pooling=False");
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT count(*) FROM runs WHERE status = 'FINISHED'";
            Assert.Equal(2L, cmd.ExecuteScalar());
            cmd.CommandText = "SELECT count(*) FROM metrics";
            Assert.Equal(201L, cmd.ExecuteScalar());
            cmd.CommandText = "SELECT count(*) FROM tags WHERE key = 'mlflow.parentRunId'";
            Assert.Equal(1L, cmd.ExecuteScalar());
            cmd.CommandText = "SELECT name FROM experiments WHERE experiment_id = 1";
            Assert.Equal("quickstart", cmd.ExecuteScalar());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

using MlOps.Client.Stores;
using MlOps.Client.Tracking;

namespace MlOps.Client.Tests.Tracking;

/// <summary>Python's <c>mlflow.log_table</c>: pandas' split JSON, appended to on a second call, listed once in <c>mlflow.loggedArtifacts</c>.</summary>
public sealed class LogTableTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mlops-table-");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task A_table_is_written_as_Python_writes_it_appended_to_and_listed_once_in_the_tag()
    {
        await using var store = SqliteTrackingStore.Open("sqlite:///" + Path.Combine(_dir.FullName, "mlflow.db"));
        await using var tracker = new Tracker(store, new TrackerOptions { HandleProcessExit = false, SetSystemTags = false });
        string runId;
        using (var run = tracker.StartRun("table"))
        {
            runId = run.RunId;
            await run.LogTableAsync(["inputs", "outputs", "toxicity"], [["What is MLflow?", "MLflow is ...", 0.0], ["What is Databricks?", "Databricks is ...", 0.5]], "qabot_eval_results.json");
            await run.LogTableAsync(["inputs", "score"], [["Why?", 3]], "qabot_eval_results.json"); // appended: columns joined
            await run.LogTableAsync(["a"], [[null]], "eval/other.json");
            await Assert.ThrowsAsync<ArgumentException>(() => run.LogTableAsync(["a"], [[1]], "t.parquet"));
            await Assert.ThrowsAsync<ArgumentException>(() => run.LogTableAsync(["a"], [[1]], "t:x.json"));
            await Assert.ThrowsAsync<ArgumentException>(() => run.LogTableAsync(["a", "b"], [[1]], "t.json"));
        }

        var logged = await store.GetRunAsync(runId, default);
        var root = new Uri(logged.Info.ArtifactUri!).LocalPath;
        Assert.Equal(
            """{"columns":["inputs","outputs","toxicity","score"],"data":[["What is MLflow?","MLflow is ...",0.0,null],["What is Databricks?","Databricks is ...",0.5,null],["Why?",null,null,3]]}""",
            File.ReadAllText(Path.Combine(root, "qabot_eval_results.json")));
        Assert.Equal("""{"columns":["a"],"data":[[null]]}""", File.ReadAllText(Path.Combine(root, "eval", "other.json")));
        Assert.Equal("""[{"path": "qabot_eval_results.json", "type": "table"}, {"path": "eval/other.json", "type": "table"}]""", logged.Data.GetTag(MlflowTags.LoggedArtifacts));
    }
}

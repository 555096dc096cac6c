using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace MlOps.Client.XGBoost.Tests;

/// <summary>XGBoost 1.x keeps state per OS thread (its prediction cache and random generator): what that means for boosters.</summary>
[Collection(XGBoostCollection.Name)]
public sealed class ThreadingTests
{
    private static Dictionary<string, object?> Sampling() => new(TestData.BinaryParams())
    {
        ["subsample"] = 0.5,
        ["colsample_bytree"] = 0.7,
        ["tree_method"] = "hist",
    };

    private static byte[] TrainOn(DMatrix data, Dictionary<string, object?> parameters, int rounds)
    {
        using var booster = new Booster(parameters, data);
        for (var i = 0; i < rounds; i++)
        {
            booster.Update(data, i);
        }

        return booster.SaveToBuffer();
    }

    [XGBoostFact]
    public async Task A_booster_created_on_one_thread_trains_on_another()
    {
        var (x, y) = TestData.Binary(300, 5, 21);
        using var data = new DMatrix(x, y);
        var sameThread = TrainOn(data, TestData.BinaryParams(), 5);
        using var booster = new Booster(TestData.BinaryParams(), data);
        // Before num_feature was stated at creation: "0 feature is supplied. Are you using raw Booster interface?"
        await Task.Factory.StartNew(() =>
        {
            for (var i = 0; i < 5; i++)
            {
                booster.Update(data, i);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(sameThread, booster.SaveToBuffer());
    }

    [XGBoostFact]
    public async Task Seeded_subsampling_on_four_threads_at_once_gives_the_models_trained_one_after_the_other()
    {
        var (x, y) = TestData.Binary(400, 8, 22);
        var matrices = Enumerable.Range(0, 4).Select(_ => new DMatrix(x, y)).ToArray();
        try
        {
            var sequential = TrainOn(matrices[0], Sampling(), 10);
            var parallel = await Task.WhenAll(matrices.Select(m => Task.Factory.StartNew(() => TrainOn(m, Sampling(), 10),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))).WaitAsync(TimeSpan.FromSeconds(120));
            Assert.All(parallel, model => Assert.Equal(sequential, model));
        }
        finally
        {
            foreach (var m in matrices)
            {
                m.Dispose();
            }
        }
    }

    [XGBoostFact]
    public async Task Training_that_moves_between_threads_with_sampling_on_is_warned_about_once()
    {
        var logger = new Capture();
        XGBoost.Logger = logger;
        try
        {
            var (x, y) = TestData.Binary(200, 5, 23);
            using var data = new DMatrix(x, y);
            using var booster = new Booster(Sampling(), data);
            for (var i = 0; i < 4; i++)
            {
                var iteration = i;
                await Task.Factory.StartNew(() => booster.Update(data, iteration), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                    .WaitAsync(TimeSpan.FromSeconds(60)); // a new thread each time
            }

            Assert.Single(logger.Lines, l => l.Level == LogLevel.Warning && l.Text.Contains("random generator per thread", StringComparison.Ordinal));
        }
        finally
        {
            XGBoost.Logger = null;
        }
    }

    private sealed class Capture : ILogger
    {
        public ConcurrentQueue<(LogLevel Level, string Text)> Lines { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue((logLevel, formatter(state, exception)));
    }
}

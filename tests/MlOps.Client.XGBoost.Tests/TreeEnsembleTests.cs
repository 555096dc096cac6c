namespace MlOps.Client.XGBoost.Tests;

/// <summary>
/// The managed copy of a booster's trees gives XGBoost's in-place predictions bit for bit — for each objective it reads,
/// with missing values on both default branches — and refuses, with the reason, what it does not reproduce.
/// </summary>
public sealed class TreeEnsembleTests
{
    public static TheoryData<string, float?> Objectives => new()
    {
        { "binary:logistic", null },
        { "binary:logistic", 0.3f }, // a base score whose margin is not 0: LogisticRegression::ProbToMargin
        { "reg:logistic", 0.7f },
        { "binary:logitraw", null },
        { "reg:squarederror", 0.25f },
        { "reg:pseudohubererror", null },
        { "multi:softprob", null },
        { "multi:softmax", null },
        { "count:poisson", null },
        { "reg:gamma", 2.5f },
        { "reg:tweedie", null },
    };

    [XGBoostTheory]
    [MemberData(nameof(Objectives))]
    public void Every_value_equals_the_boosters_bit_for_bit(string objective, float? baseScore)
    {
        using var booster = Train(objective, baseScore, rounds: 25, depth: 4);
        var trees = TreeEnsemble.TryCreate(booster, out var reason);
        Assert.True(trees is not null, reason);
        Assert.Null(reason);
        Assert.Equal(objective, trees.Objective);
        Assert.Equal(objective.StartsWith("multi:", StringComparison.Ordinal) ? 25 * 3 : 25, trees.TreeCount);

        // Other rows than the proof's: drawn around the training data's range, a fifth of the values missing.
        var random = new Random(42);
        const int Rows = 3000;
        var data = new float[Rows * 6];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = random.Next(5) == 0 ? float.NaN : (float)((random.NextDouble() * 2.4) - 1.2);
        }

        var native = booster.InplacePredict(data, Rows, 6).Values;
        var managed = trees.Predict(data, Rows);
        Assert.Equal(native.Length, managed.Length);
        Assert.Equal(objective == "multi:softprob" ? 3 : 1, trees.OutputsPerRow);
        var differing = Enumerable.Range(0, native.Length).Count(i => BitConverter.SingleToInt32Bits(native[i]) != BitConverter.SingleToInt32Bits(managed[i]));
        Assert.Equal(0, differing);

        // One row at a time, into a caller's span (the serving path's size).
        var one = new float[trees.OutputsPerRow];
        for (var r = 0; r < 50; r++)
        {
            trees.Predict(data.AsSpan(r * 6, 6), 1, one);
            Assert.Equal(native.AsSpan(r * trees.OutputsPerRow, trees.OutputsPerRow).ToArray(), one);
        }
    }

    [XGBoostFact]
    public void Missing_values_follow_each_nodes_default_branch_both_ways()
    {
        // Trained with missing values, so that some nodes send them left and others right.
        using var booster = Train("binary:logistic", null, rounds: 30, depth: 5, missingInTraining: true);
        var trees = TreeEnsemble.TryCreate(booster, out var reason);
        Assert.True(trees is not null, reason);
        var json = System.Text.Json.JsonDocument.Parse(booster.SaveToBuffer(ModelFormat.Json));
        var defaults = json.RootElement.GetProperty("learner").GetProperty("gradient_booster").GetProperty("model").GetProperty("trees")
            .EnumerateArray().SelectMany(t => t.GetProperty("default_left").EnumerateArray().Zip(t.GetProperty("left_children").EnumerateArray()))
            .Where(p => p.Second.GetInt32() != -1).Select(p => p.First.GetInt32()).ToHashSet();
        Assert.Equal([0, 1], defaults.Order()); // both directions are in the model

        var rows = Enumerable.Range(0, 64).SelectMany(r => Enumerable.Range(0, 6).Select(c => ((r >> c) & 1) == 1 ? float.NaN : 0.1f * c)).ToArray();
        Assert.Equal(booster.InplacePredict(rows, 64, 6).Values, trees.Predict(rows, 64));
    }

    [XGBoostFact]
    public void The_proof_finds_a_copy_that_differs_from_its_booster()
    {
        using var first = Train("binary:logistic", null, rounds: 5, depth: 3);
        using var second = Train("binary:logistic", null, rounds: 6, depth: 3);
        var trees = TreeEnsemble.TryCreate(first, out _)!;
        var difference = trees.Disagreement(second);
        Assert.NotNull(difference);
        Assert.Contains("the booster gives", difference, StringComparison.Ordinal);
        Assert.Null(trees.Disagreement(first));
    }

    [XGBoostFact]
    public void The_probes_reach_the_split_conditions_one_float_below_them_infinities_and_NaN()
    {
        using var booster = Train("reg:squarederror", null, rounds: 10, depth: 3);
        var trees = TreeEnsemble.TryCreate(booster, out _)!;
        var probes = trees.ProbeData(TreeEnsemble.ProbeRows);
        var json = System.Text.Json.JsonDocument.Parse(booster.SaveToBuffer(ModelFormat.Json));
        var conditions = json.RootElement.GetProperty("learner").GetProperty("gradient_booster").GetProperty("model").GetProperty("trees")
            .EnumerateArray().SelectMany(t => t.GetProperty("split_conditions").EnumerateArray().Zip(t.GetProperty("left_children").EnumerateArray()))
            .Where(p => p.Second.GetInt32() != -1).Select(p => p.First.GetSingle()).ToHashSet();
        Assert.All(probes.AsSpan(0, 6).ToArray(), v => Assert.True(float.IsNaN(v))); // the first row: all missing
        Assert.Contains(probes, conditions.Contains);
        Assert.Contains(probes, v => conditions.Contains(MathF.BitIncrement(v)));
        Assert.True(probes.Count(float.IsNaN) > probes.Length / 16);
        Assert.Contains(float.PositiveInfinity, probes);
        Assert.Contains(float.NegativeInfinity, probes);
    }

    [XGBoostFact]
    public void A_dart_booster_is_refused_with_the_reason()
    {
        var (x, y) = TestData.Binary(200, 6, 3);
        using var train = new DMatrix(x, y);
        var parameters = TestData.BinaryParams();
        parameters["booster"] = "dart";
        using var booster = XGBoost.Train(parameters, train, numBoostRound: 3);
        Assert.Null(TreeEnsemble.TryCreate(booster, out var reason));
        Assert.Contains("dart", reason, StringComparison.Ordinal);
    }

    [XGBoostFact]
    public void An_objective_whose_transform_is_not_reproduced_is_refused_naming_it()
    {
        var (x, y) = TestData.Binary(200, 6, 3);
        using var train = new DMatrix(x, y);
        var parameters = TestData.BinaryParams();
        parameters["objective"] = "binary:hinge";
        parameters.Remove("eval_metric");
        using var booster = XGBoost.Train(parameters, train, numBoostRound: 3);
        Assert.Null(TreeEnsemble.TryCreate(booster, out var reason));
        Assert.Contains("binary:hinge", reason, StringComparison.Ordinal);
    }

    [XGBoostFact]
    public void Bad_shapes_are_refused_naming_the_counts()
    {
        using var booster = Train("multi:softprob", null, rounds: 2, depth: 2);
        var trees = TreeEnsemble.TryCreate(booster, out _)!;
        var error = Assert.Throws<ArgumentException>(() => trees.Predict(new float[7], 1));
        Assert.Contains("1 × 6", error.Message, StringComparison.Ordinal);
        var small = Assert.Throws<ArgumentException>(() => trees.Predict(new float[12], 2, new float[5]));
        Assert.Contains("need 6", small.Message, StringComparison.Ordinal);
        Assert.Empty(trees.Predict([], 0));
    }

    private static Booster Train(string objective, float? baseScore, int rounds, int depth, bool missingInTraining = false)
    {
        var multi = objective.StartsWith("multi:", StringComparison.Ordinal);
        var (x, y) = multi ? TestData.Multiclass(400, 6, 11) : TestData.Binary(400, 6, 11);
        if (objective is "reg:squarederror" or "reg:pseudohubererror")
        {
            y = x.Select(r => (r[0] * 3) - r[1] + (r[2] * r[3])).ToArray();
        }
        else if (objective is "count:poisson" or "reg:gamma" or "reg:tweedie")
        {
            y = x.Select(r => MathF.Round(MathF.Exp(r[0] + r[1]) * 3) + (objective == "reg:gamma" ? 0.5f : 0)).ToArray(); // counts; gamma's > 0
        }

        if (missingInTraining)
        {
            var random = new Random(5);
            foreach (var row in x)
            {
                for (var c = 0; c < row.Length; c++)
                {
                    row[c] = random.Next(4) == 0 ? float.NaN : row[c];
                }
            }
        }

        using var train = new DMatrix(x, y);
        var parameters = new Dictionary<string, object?>
        {
            ["objective"] = objective,
            ["max_depth"] = depth,
            ["eta"] = 0.3,
            ["seed"] = 3,
            ["nthread"] = 1,
        };
        if (multi)
        {
            parameters["num_class"] = 3;
        }

        if (baseScore is { } score)
        {
            parameters["base_score"] = score;
        }

        return XGBoost.Train(parameters, train, numBoostRound: rounds);
    }
}

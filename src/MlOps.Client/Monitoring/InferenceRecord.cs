namespace MlOps.Client.Monitoring;

/// <summary>One column of a logged request: its name and one value per row.</summary>
/// <param name="Name">The column (an input's name, <c>0</c>, <c>1</c>… for positional inputs, or a prediction output's name).</param>
/// <param name="Values">
/// One value per row: <see cref="double"/>, <see cref="string"/>, <see cref="bool"/>, <see langword="null"/> (missing), or
/// a <see cref="double"/> array (a vector: an array input, or a classifier's probabilities).
/// </param>
public sealed record InferenceColumn(string Name, IReadOnlyList<object?> Values);

/// <summary>One served request as the inference log keeps it: when, which model, how long, its rows and predictions.</summary>
public sealed class InferenceRecord
{
    /// <summary>The request's id (the <c>X-Request-Id</c> header, or one the server made), which ground truth is sent back with.</summary>
    public required string RequestId { get; init; }

    /// <summary>When it was served.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The served model's URI.</summary>
    public string? ModelUri { get; init; }

    /// <summary>The time to answer, in milliseconds.</summary>
    public double LatencyMilliseconds { get; init; }

    /// <summary>Rows in the request.</summary>
    public required int Rows { get; init; }

    /// <summary>The inputs, column by column, in the model's input order.</summary>
    public IReadOnlyList<InferenceColumn> Inputs { get; init; } = [];

    /// <summary>The predictions, output by output (<c>prediction</c> for a model's single unnamed output).</summary>
    public IReadOnlyList<InferenceColumn> Predictions { get; init; } = [];
}

/// <summary>Ground truth for a served request, sent after the fact: one target per row of the request.</summary>
/// <param name="RequestId">The request it answers.</param>
/// <param name="Timestamp">When it arrived.</param>
/// <param name="Targets">One target per row (a number or a class label).</param>
public sealed record InferenceFeedback(string RequestId, DateTimeOffset Timestamp, IReadOnlyList<object?> Targets);

namespace MlOps.Client.Monitoring;

/// <summary>Where and how much the inference log writes.</summary>
public sealed class InferenceLogOptions
{
    /// <summary>The folder of the log's files (created if missing). Required.</summary>
    public string Directory { get; set; } = "";

    /// <summary>The share of requests logged, 0–1 (a uniform random choice per request). Default 1: every request.</summary>
    public double SampleRate { get; set; } = 1;

    /// <summary>
    /// The most bytes the log's files take together. When a new line would pass it, the oldest files are deleted (their
    /// rows counted as evicted): the log keeps the most recent traffic and never takes more. Default 1 GiB.
    /// </summary>
    public long MaxBytes { get; set; } = 1L << 30;

    /// <summary>The size at which a file is closed and a new one started. Default 64 MiB (and at most <see cref="MaxBytes"/>/4, so eviction frees room in steps).</summary>
    public long MaxFileBytes { get; set; } = 64L << 20;

    /// <summary>How long a file is written before a new one starts. Default 1 hour.</summary>
    public TimeSpan MaxFileAge { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Records waiting to be written at most; a request finding the queue full is not logged (counted as dropped) rather than waiting. Default 10 000.</summary>
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>Checks the values; throws naming the first out of range.</summary>
    /// <exception cref="ArgumentException">A value out of range.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ArgumentException("InferenceLogOptions.Directory is required: the folder the log's files go to.", nameof(Directory));
        }

        if (!(SampleRate is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(SampleRate), SampleRate, "InferenceLogOptions.SampleRate is between 0 and 1.");
        }

        if (MaxBytes < 64 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBytes), MaxBytes, "InferenceLogOptions.MaxBytes is at least 65536 bytes.");
        }

        if (MaxFileBytes < 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxFileBytes), MaxFileBytes, "InferenceLogOptions.MaxFileBytes is at least 4096 bytes.");
        }

        if (MaxFileAge <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxFileAge), MaxFileAge, "InferenceLogOptions.MaxFileAge is positive.");
        }

        if (QueueCapacity < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(QueueCapacity), QueueCapacity, "InferenceLogOptions.QueueCapacity is at least 1.");
        }
    }
}

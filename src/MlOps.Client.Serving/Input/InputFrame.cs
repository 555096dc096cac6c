namespace MlOps.Client.Serving.Input;

/// <summary>
/// A request's rows as pandas would hold them before the signature is enforced: named columns (<c>dataframe_split</c>,
/// <c>dataframe_records</c>, CSV with a header, <c>inputs</c> as a dictionary of columns) or positional values
/// (<c>instances</c>/<c>inputs</c> lists, CSV without a header).
/// </summary>
/// <param name="Names">The column names, or <see langword="null"/> when the values are positional.</param>
/// <param name="Rows">The rows; each as wide as <paramref name="Names"/> when named.</param>
/// <param name="IsDictionary">Whether it came as <c>inputs</c>/<c>instances</c> holding a dictionary of columns.</param>
/// <param name="IsCsv">Whether it came as CSV (read with the signature's types, as <c>read_csv(dtype=…)</c> reads it).</param>
internal sealed record InputFrame(string[]? Names, List<Cell[]> Rows, bool IsDictionary = false, bool IsCsv = false);

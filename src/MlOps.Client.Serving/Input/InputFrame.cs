namespace MlOps.Client.Serving.Input;

/// <summary>
/// A request's rows as pandas would hold them before the signature is enforced: named columns (<c>dataframe_split</c>,
/// <c>dataframe_records</c>, CSV with a header, <c>inputs</c> as a dictionary of columns) or positional values
/// (<c>instances</c>/<c>inputs</c> lists, CSV without a header). The values are row-major in chunks (no array per row).
/// </summary>
/// <param name="Names">The column names, or <see langword="null"/> when the values are positional.</param>
/// <param name="Cells">The values, row by row, <paramref name="Width"/> per row.</param>
/// <param name="RowCount">The number of rows.</param>
/// <param name="Width">The values per row.</param>
/// <param name="IsDictionary">Whether it came as <c>inputs</c>/<c>instances</c> holding a dictionary of columns.</param>
/// <param name="IsCsv">Whether it came as CSV (read with the signature's types, as <c>read_csv(dtype=…)</c> reads it).</param>
/// <param name="IsRagged">Whether positional rows came with different numbers of values (refused when enforced).</param>
internal sealed record InputFrame(string[]? Names, CellChunks Cells, int RowCount, int Width, bool IsDictionary = false, bool IsCsv = false, bool IsRagged = false)
{
    /// <summary>The value of <paramref name="row"/> in <paramref name="column"/>.</summary>
    public Cell this[int row, int column] => Cells[(row * Width) + column];

    /// <summary>Positional rows of different widths (refused when enforced; their values are not kept).</summary>
    public static InputFrame Ragged(int rows, int width) => new(null, CellChunks.Empty, rows, width, IsRagged: true);
}

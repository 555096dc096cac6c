namespace MlOps.Client.Serving.Input;

/// <summary>
/// A request's values, row by row, in chunks of 2,048 cells (80 KiB, below .NET's 85,000-byte large object threshold):
/// no array per row, and a body of millions of values leaves no large-object garbage behind it (which only a full
/// collection would take back) — the ordinary collections compact it.
/// </summary>
internal sealed class CellChunks
{
    private const int ChunkBits = 11;
    private const int ChunkSize = 1 << ChunkBits;
    private const int Mask = ChunkSize - 1;

    private Cell[][] _chunks;

    private CellChunks(Cell[][] chunks, int count)
    {
        _chunks = chunks;
        Count = count;
    }

    /// <summary>No values.</summary>
    public static CellChunks Empty => new([], 0);

    /// <summary>The number of values.</summary>
    public int Count { get; private set; }

    /// <summary>The value at <paramref name="index"/> (row × width + column).</summary>
    public ref Cell this[int index] => ref _chunks[index >> ChunkBits][index & Mask];

    /// <summary>Room for <paramref name="count"/> values, each <see cref="Cell"/>'s default until set.</summary>
    public static CellChunks Sized(int count)
    {
        var chunks = new Cell[(count + Mask) >> ChunkBits][];
        for (var i = 0; i < chunks.Length; i++)
        {
            chunks[i] = new Cell[Math.Min(ChunkSize, count - (i << ChunkBits))];
        }

        return new CellChunks(chunks, count);
    }

    /// <summary>An empty list that <see cref="Add"/> grows.</summary>
    public static CellChunks Growing() => new(new Cell[1][], 0);

    /// <summary>Appends <paramref name="cell"/>.</summary>
    public void Add(in Cell cell)
    {
        var chunk = Count >> ChunkBits;
        if (chunk == _chunks.Length)
        {
            Array.Resize(ref _chunks, _chunks.Length * 2);
        }

        var offset = Count & Mask;
        var current = _chunks[chunk] ??= new Cell[16];
        if (offset == current.Length)
        {
            Array.Resize(ref current, Math.Min(ChunkSize, current.Length * 4));
            _chunks[chunk] = current;
        }

        current[offset] = cell;
        Count++;
    }
}

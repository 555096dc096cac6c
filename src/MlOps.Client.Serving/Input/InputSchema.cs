using System.Globalization;
using System.Text.Json.Nodes;

namespace MlOps.Client.Serving.Input;

/// <summary>
/// One input column of a model: its MLflow type (<c>boolean</c>, <c>integer</c>, <c>long</c>, <c>float</c>,
/// <c>double</c>, <c>string</c>, <c>binary</c>, <c>datetime</c>, or <c>array</c> of <paramref name="ItemType"/>) and
/// whether a request must carry it.
/// </summary>
/// <param name="Name">The column name, or <see langword="null"/> for a positional (tensor or unnamed) column.</param>
/// <param name="Type">The MLflow type.</param>
/// <param name="ItemType">The item type of an <c>array</c> column.</param>
/// <param name="Required">Whether a request without it is refused (MLflow's <c>required</c>).</param>
internal sealed record ColumnSpec(string? Name, string Type, string? ItemType = null, bool Required = true)
{
    /// <summary>The pandas dtype Python's server casts the column to, as its messages print it.</summary>
    public string PandasType => Type switch
    {
        "boolean" => "bool",
        "integer" => "int32",
        "long" => "int64",
        "float" => "float32",
        "double" => "float64",
        _ => "<class 'object'>",
    };
}

/// <summary>
/// A model's input as its <c>MLmodel</c> signature declares it, enforced on a request the way MLflow's scoring server
/// does: a column-based signature casts each column to its type (<c>astype</c>: ints and numeric text to floats, floats
/// to ints, truthiness to booleans; text that is not a number and NaN in an integer column are refused), takes columns
/// by name in the signature's order, drops extra ones, refuses a missing required column and leaves a missing optional
/// one absent; a tensor signature casts every column to its dtype and checks the width.
/// </summary>
internal sealed class InputSchema
{
    private InputSchema(IReadOnlyList<ColumnSpec> columns, bool isTensor, string description)
    {
        Columns = columns;
        IsTensor = isTensor;
        Description = description;
    }

    /// <summary>The columns, in the model's order.</summary>
    public IReadOnlyList<ColumnSpec> Columns { get; }

    /// <summary>Whether the signature is a tensor (<c>[-1, n]</c>): positional columns of one dtype.</summary>
    public bool IsTensor { get; }

    /// <summary>Whether the columns have names (taken by name from a request).</summary>
    public bool IsNamed => !IsTensor && Columns.All(c => c.Name is not null);

    /// <summary>The schema as MLflow prints it in messages, e.g. <c>['a': double (required), …]</c>.</summary>
    public string Description { get; }

    /// <summary>A tensor of <paramref name="width"/> columns of <paramref name="dtype"/> (numpy's name).</summary>
    public static InputSchema Tensor(string dtype, int width) =>
        new([.. Enumerable.Range(0, width).Select(_ => new ColumnSpec(null, TensorType(dtype)))], true, $"[Tensor('{dtype}', (-1, {width}))]");

    /// <summary>Named or unnamed columns.</summary>
    public static InputSchema Named(IReadOnlyList<ColumnSpec> columns) =>
        new(columns, false, "[" + string.Join(", ", columns.Select(c => (c.Name is null ? "" : $"'{c.Name}': ") + (c.ItemType is null ? c.Type : $"Array({c.ItemType})") + (c.Required ? " (required)" : " (optional)"))) + "]");

    /// <summary>Reads a signature's <c>inputs</c> JSON; <see langword="null"/> when there is none.</summary>
    /// <exception cref="NotSupportedException">A tensor signature other than one input of shape <c>[-1, n]</c> or <c>[-1]</c>.</exception>
    public static InputSchema? FromSignature(string? inputs)
    {
        if (inputs is null || JsonNode.Parse(inputs) is not JsonArray specs || specs.Count == 0)
        {
            return null;
        }

        if (specs[0]?["type"]?.GetValue<string>() == "tensor")
        {
            var tensor = specs.Count == 1 ? specs[0]!["tensor-spec"] : null;
            var dtype = tensor?["dtype"]?.GetValue<string>() ?? "float32";
            return tensor?["shape"] switch
            {
                JsonArray { Count: 2 } shape when shape[0]!.GetValue<int>() == -1 && shape[1]!.GetValue<int>() > 0 => Tensor(dtype, shape[1]!.GetValue<int>()),
                JsonArray { Count: 1 } shape when shape[0]!.GetValue<int>() == -1 => Tensor(dtype, 1),
                _ => throw new NotSupportedException($"The model's signature has the tensor input {inputs}; this server enforces one input of shape [-1, n] or [-1]."),
            };
        }

        return Named([.. specs.Select(s => new ColumnSpec(
            s?["name"]?.GetValue<string>(),
            s?["type"]?.GetValue<string>() ?? "double",
            s?["items"]?["type"]?.GetValue<string>(),
            s?["required"]?.GetValue<bool>() ?? true))]);
    }

    private static string TensorType(string dtype) => dtype switch
    {
        "float32" or "float16" => "float",
        "float64" => "double",
        "int32" or "int16" or "int8" or "uint8" or "uint16" => "integer",
        "int64" or "uint32" or "uint64" => "long",
        "bool" => "boolean",
        _ => "string",
    };

    /// <summary>Casts and selects the request's columns; refuses (MLflow's statuses and codes) what cannot be enforced.</summary>
    public EnforcedInput? Enforce(InputFrame frame, out ScoringError? error)
    {
        error = null;
        var rows = frame.RowCount;
        if (frame.IsRagged)
        {
            error = new ScoringError(400, "BAD_REQUEST", "Invalid input. The rows have different numbers of values.");
            return null;
        }

        if (IsTensor && frame.IsDictionary)
        {
            error = new ScoringError(400, "BAD_REQUEST",
                "Invalid input. Failed to parse input data. This model contains an un-named  model signature which expects a single n-dimensional array or a single value as input, however, an input of type <class 'dict'> was found.");
            return null;
        }

        var width = frame.Names?.Length ?? (rows > 0 ? frame.Width : 0);
        int[] sources;
        if (IsNamed)
        {
            // Positional values have no names: pandas names their columns 0, 1, …, which a named signature then misses
            // (Python refuses them so, recorded).
            var names = frame.Names;
            var missing = Columns.Where(c => c.Required && (names is null || Array.IndexOf(names, c.Name) < 0)).Select(c => $"'{c.Name}'").ToList();
            if (missing.Count > 0)
            {
                var extra = names is null
                    ? Enumerable.Range(0, width).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList()
                    : names.Where(n => Columns.All(c => c.Name != n)).Select(n => $"'{n}'").ToList();
                error = new ScoringError(400, "INVALID_PARAMETER_VALUE",
                    $"Failed to enforce schema of data with schema '{Description}'. Error: Model is missing inputs [{string.Join(", ", missing)}]." +
                    (extra.Count > 0 ? $" Note that there were extra inputs: [{string.Join(", ", extra)}]" : ""));
                return null;
            }

            sources = [.. Columns.Select(c => names is null ? -1 : Array.IndexOf(names, c.Name))];
            if (sources.All(s => s < 0))
            {
                // Every column optional (an ML.NET model without a signature) and none sent: nothing to predict from.
                error = new ScoringError(400, "INVALID_PARAMETER_VALUE",
                    $"Failed to enforce schema of data with schema '{Description}'. Error: the input has none of the model's columns (it has [{string.Join(", ", names?.Select(n => $"'{n}'") ?? Enumerable.Range(0, width).Select(i => i.ToString(CultureInfo.InvariantCulture)))}]).");
                return null;
            }
        }
        else if (IsTensor ? width != Columns.Count : width < Columns.Count)
        {
            error = IsTensor
                ? new ScoringError(400, "INVALID_PARAMETER_VALUE",
                    $"Failed to enforce schema of data with schema '{Description}'. Error: Shape of input ({rows}, {width}) does not match expected shape (-1, {Columns.Count}).")
                : new ScoringError(400, "INVALID_PARAMETER_VALUE",
                    $"Failed to enforce schema of data with schema '{Description}'. Error: Model inference is missing inputs. The model signature declares {Columns.Count} inputs but the provided value only has {width} inputs.");
            return null;
        }
        else
        {
            sources = [.. Enumerable.Range(0, Columns.Count)];
        }

        var values = new Cell[]?[Columns.Count];
        for (var c = 0; c < Columns.Count; c++)
        {
            if (sources[c] < 0)
            {
                continue; // an optional column the request does not carry: left absent, as MLflow leaves it
            }

            var spec = Columns[c];
            var name = spec.Name ?? frame.Names?[sources[c]] ?? sources[c].ToString(CultureInfo.InvariantCulture);
            var column = new Cell[rows];
            var objectColumn = IsObjectColumn(frame, sources[c]);
            for (var r = 0; r < rows; r++)
            {
                var cell = frame[r, sources[c]];
                if (frame.IsCsv && IsNamed && CsvProblem(cell, spec, sources[c]) is { } csv)
                {
                    error = new ScoringError(400, "BAD_REQUEST",
                        $"Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method. Error: '{csv}'");
                    return null;
                }

                if (Cast(cell, spec.ItemType ?? spec.Type, spec.ItemType is not null, objectColumn, out column[r]) is { } problem)
                {
                    error = new ScoringError(400, "BAD_REQUEST",
                        $"Invalid input. Data is not compatible with model signature. Failed to convert column {name} to type '{spec.PandasType}'. Error: '{problem}'");
                    return null;
                }
            }

            values[c] = column;
        }

        return new EnforcedInput(rows, Columns, values);
    }

    /// <summary>
    /// What <c>read_csv(dtype=…)</c> refuses where <c>astype</c> would convert, with pandas' message (the column by its
    /// place in the file): a missing value or a fraction in an integer column. Other refusals are the cast's.
    /// </summary>
    private static string? CsvProblem(Cell cell, ColumnSpec spec, int fileColumn) => spec.Type switch
    {
        "integer" or "long" => cell.Kind switch
        {
            CellKind.Null => $"Integer column has NA values in column {fileColumn}",
            CellKind.Float when cell.Number != Math.Truncate(cell.Number) =>
                $"cannot safely convert passed user dtype of {spec.PandasType} for float64 dtyped data in column {fileColumn}",
            CellKind.String => $"invalid literal for int() with base 10: {cell.Repr()}",
            _ => null,
        },
        "float" or "double" when cell.Kind == CellKind.String && PythonFloat(cell.Text!) is null => $"could not convert string to float: {cell.Repr()}",
        _ => null,
    };

    /// <summary>Whether pandas reads the column as <c>object</c> (not numbers): text, booleans, lists, or nothing but nulls.</summary>
    private static bool IsObjectColumn(InputFrame frame, int column)
    {
        var allNull = true;
        for (var r = 0; r < frame.RowCount; r++)
        {
            var kind = frame[r, column].Kind;
            if (kind is not (CellKind.Integer or CellKind.Float or CellKind.Null))
            {
                return true;
            }

            allNull &= kind == CellKind.Null;
        }

        return allNull;
    }

    /// <summary>pandas' <c>astype</c> of one value (of an <c>object</c> column or a numeric one); returns Python's exception repr when it fails.</summary>
    private static string? Cast(Cell cell, string type, bool array, bool objectColumn, out Cell result)
    {
        result = cell;
        if (array)
        {
            if (cell.Kind != CellKind.Array)
            {
                return cell.Kind == CellKind.Null ? null : $"TypeError(\"expected a list, got {cell.Repr()}\")";
            }

            var items = new Cell[cell.Items!.Length];
            for (var i = 0; i < items.Length; i++)
            {
                if (Cast(cell.Items[i], type, false, objectColumn, out items[i]) is { } problem)
                {
                    return problem;
                }
            }

            result = new Cell(CellKind.Array, Items: items);
            return null;
        }

        switch (type)
        {
            case "float" or "double":
                if (cell.Kind is CellKind.Integer or CellKind.Float or CellKind.Boolean)
                {
                    result = new Cell(CellKind.Float, cell.Number);
                    return null;
                }

                if (cell.Kind == CellKind.Null)
                {
                    result = new Cell(CellKind.Float, double.NaN);
                    return null;
                }

                if (cell.Kind == CellKind.String && PythonFloat(cell.Text!) is { } parsed)
                {
                    result = new Cell(CellKind.Float, parsed);
                    return null;
                }

                return cell.Kind == CellKind.String
                    ? $"ValueError(\"could not convert string to float: {cell.Repr()}\")"
                    : "ValueError('setting an array element with a sequence.')";

            case "integer" or "long":
                long integer;
                if (cell.Kind == CellKind.Integer)
                {
                    integer = cell.Integer; // exact, also beyond 2^53
                }
                else if (cell.Kind is CellKind.Float or CellKind.Boolean)
                {
                    if (!double.IsFinite(cell.Number))
                    {
                        return "IntCastingNaNError('Cannot convert non-finite values (NA or inf) to integer')";
                    }

                    if (Math.Abs(cell.Number) >= 9.2e18)
                    {
                        return Overflow(cell, type);
                    }

                    integer = (long)Math.Truncate(cell.Number); // pandas truncates 1.5 to 1
                }
                else if (cell.Kind == CellKind.Null)
                {
                    // A numeric column holds NaN there; an object column holds None, which int() refuses (both recorded).
                    return objectColumn
                        ? "TypeError(\"int() argument must be a string, a bytes-like object or a real number, not 'NoneType'\")"
                        : "IntCastingNaNError('Cannot convert non-finite values (NA or inf) to integer')";
                }
                else if (cell.Kind == CellKind.String && long.TryParse(cell.Text!.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsedInteger))
                {
                    integer = parsedInteger;
                }
                else
                {
                    return cell.Kind == CellKind.String
                        ? $"ValueError(\"invalid literal for int() with base 10: {cell.Repr()}\")"
                        : "ValueError('setting an array element with a sequence.')";
                }

                // pandas wraps an int64 beyond int32 silently; refusing it names the column and the limit instead.
                if (type == "integer" && integer is > int.MaxValue or < int.MinValue)
                {
                    return Overflow(cell, type);
                }

                result = new Cell(CellKind.Integer, integer, Integer: integer);
                return null;

            case "boolean":
                // astype(bool) is Python's truthiness: 0, "" and None are False; NaN (a null in a numeric column) and any
                // other value (also "false") are True.
                result = new Cell(CellKind.Boolean, cell.Kind switch
                {
                    CellKind.Null => objectColumn ? 0 : 1,
                    CellKind.Integer or CellKind.Float or CellKind.Boolean => cell.Number != 0 ? 1 : 0,
                    CellKind.String => cell.Text!.Length > 0 ? 1 : 0,
                    _ => 1,
                });
                return null;

            default:
                return null; // string, binary, datetime: kept as they are (object)
        }
    }

    private static string Overflow(Cell cell, string type) => type == "integer"
        ? $"OverflowError('{cell.Repr()} is outside int32 [{int.MinValue}, {int.MaxValue}]')"
        : $"OverflowError('{cell.Repr()} is outside int64 [{long.MinValue}, {long.MaxValue}]')";

    /// <summary>Python's <c>float(text)</c>: surrounding spaces, <c>nan</c>, <c>inf</c>/<c>infinity</c>, underscores between digits.</summary>
    private static double? PythonFloat(string text)
    {
        var t = text.Trim();
        if (double.TryParse(t.Replace("_", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && !t.StartsWith('_') && !t.EndsWith('_') && !t.Contains("__", StringComparison.Ordinal))
        {
            return d;
        }

        return t.TrimStart('+', '-').ToLowerInvariant() switch
        {
            "nan" => double.NaN,
            "inf" or "infinity" => t.StartsWith('-') ? double.NegativeInfinity : double.PositiveInfinity,
            _ => null,
        };
    }
}

/// <summary>A request after the signature: one cast column per signature column (<see langword="null"/> for an absent optional one).</summary>
/// <param name="Rows">The number of rows.</param>
/// <param name="Columns">The signature's columns.</param>
/// <param name="Values">Per column, its cells in row order.</param>
internal sealed record EnforcedInput(int Rows, IReadOnlyList<ColumnSpec> Columns, Cell[]?[] Values)
{
    /// <summary>The values of a column by name (a named signature), or <see langword="null"/>.</summary>
    public Cell[]? Column(string name)
    {
        for (var c = 0; c < Columns.Count; c++)
        {
            if (Columns[c].Name == name)
            {
                return Values[c];
            }
        }

        return null;
    }

    /// <summary>The rows as a row-major float32 matrix (absent columns and missing values are NaN: XGBoost's missing).</summary>
    public float[] ToFloatMatrix()
    {
        var width = Columns.Count;
        var data = new float[Rows * width];
        for (var c = 0; c < width; c++)
        {
            var column = Values[c];
            for (var r = 0; r < Rows; r++)
            {
                data[(r * width) + c] = column is null || column[r].Kind == CellKind.Null ? float.NaN : (float)column[r].Number;
            }
        }

        return data;
    }
}

using System.Text;
using MlOps.Client.Serving.Input;

namespace MlOps.Client.Serving.Tests;

/// <summary>
/// The signature enforced as MLflow's scoring server enforces it (<c>cast_df_types_according_to_schema</c>, then
/// <c>_enforce_schema</c>): casts, names, optional and extra columns, and the messages it answers.
/// </summary>
public sealed class InputSchemaTests
{
    private const string Signature = """
        [{"type": "double", "name": "a", "required": true}, {"type": "float", "name": "b", "required": true},
         {"type": "long", "name": "c", "required": true}, {"type": "integer", "name": "d", "required": false},
         {"type": "boolean", "name": "e", "required": false}, {"type": "string", "name": "f", "required": false}]
        """;

    private static readonly InputSchema Schema = InputSchema.FromSignature(Signature)!;

    private static (EnforcedInput? Input, ScoringError? Error) Enforce(string json, InputSchema? schema = null)
    {
        var frame = ScoringRequest.Parse("application/json", Encoding.UTF8.GetBytes(json), out var parseError);
        Assert.Null(parseError);
        var input = (schema ?? Schema).Enforce(frame!, out var error);
        return (input, error);
    }

    [Fact]
    public void Columns_are_taken_by_name_in_the_signatures_order_ints_become_floats_and_extra_columns_are_dropped()
    {
        var (input, error) = Enforce("""{"dataframe_split": {"columns": ["c", "zzz", "b", "a"], "data": [[3, "x", 2, 1], [6, "y", 5.5, "4.25"]]}}""");
        Assert.Null(error);
        Assert.Equal(2, input!.Rows);
        Assert.Equal([1.0, 4.25], input.Column("a")!.Select(c => c.Number));
        Assert.Equal(CellKind.Float, input.Column("a")![0].Kind); // int64 → float64 (astype), "4.25" parsed as Python's float()
        Assert.Equal([2.0, 5.5], input.Column("b")!.Select(c => c.Number));
        Assert.Equal([3.0, 6.0], input.Column("c")!.Select(c => c.Number));
        Assert.Null(input.Column("d")); // optional and absent: left absent, as MLflow leaves it
        Assert.Null(input.Column("zzz")); // extra: dropped
        Assert.Equal([1f, 2f, 3f, float.NaN, float.NaN, float.NaN], input.ToFloatMatrix()[..6]);
    }

    [Fact]
    public void A_missing_required_column_is_refused_with_MLflows_message_and_code()
    {
        var (_, error) = Enforce("""{"dataframe_records": [{"a": 1, "b": 2, "x": 0}]}""");
        Assert.Equal(400, error!.Status);
        Assert.Equal("INVALID_PARAMETER_VALUE", error.ErrorCode);
        Assert.EndsWith("Error: Model is missing inputs ['c']. Note that there were extra inputs: ['x']", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"a": "abc", "b": 1, "c": 1}""", "Failed to convert column a to type 'float64'. Error: 'ValueError(\"could not convert string to float: 'abc'\")'")]
    [InlineData("""{"a": 1, "b": 1, "c": 1}, {"a": 1, "b": 1, "c": null}""", "Failed to convert column c to type 'int64'. Error: 'IntCastingNaNError('Cannot convert non-finite values (NA or inf) to integer')'")]
    [InlineData("""{"a": 1, "b": 1, "c": null}""", "Failed to convert column c to type 'int64'. Error: 'TypeError(\"int() argument must be a string, a bytes-like object or a real number, not 'NoneType'\")'")]
    [InlineData("""{"a": 1, "b": 1, "c": "1.5"}""", "Failed to convert column c to type 'int64'. Error: 'ValueError(\"invalid literal for int() with base 10: '1.5'\")'")]
    [InlineData("""{"a": 1, "b": 1, "c": 1, "d": 3000000000}""", "Failed to convert column d to type 'int32'. Error: 'OverflowError('3000000000 is outside int32 [-2147483648, 2147483647]')'")]
    [InlineData("""{"a": [1, 2], "b": 1, "c": 1}""", "Failed to convert column a to type 'float64'. Error: 'ValueError('setting an array element with a sequence.')'")]
    public void A_value_the_cast_refuses_gets_BAD_REQUEST_naming_the_column_and_type(string record, string expected)
    {
        var (_, error) = Enforce($$"""{"dataframe_records": [{{record}}]}""");
        Assert.Equal(400, error!.Status);
        Assert.Equal("BAD_REQUEST", error.ErrorCode);
        Assert.Equal("Invalid input. Data is not compatible with model signature. " + expected, error.Message);
    }

    [Fact]
    public void Casts_follow_pandas_astype_floats_truncate_to_ints_nulls_are_NaN_booleans_are_truthiness()
    {
        var (input, error) = Enforce("""{"dataframe_records": [{"a": null, "b": true, "c": 1.9, "d": "7", "e": "false", "f": 12}, {"a": "nan", "b": "1e3", "c": -2.5, "d": 0, "e": 0, "f": null}]}""");
        Assert.Null(error);
        Assert.True(double.IsNaN(input!.Column("a")![0].Number));
        Assert.True(double.IsNaN(input.Column("a")![1].Number));
        Assert.Equal([1.0, 1000.0], input.Column("b")!.Select(c => c.Number));
        Assert.Equal([1.0, -2.0], input.Column("c")!.Select(c => c.Number)); // truncated as astype(int64) truncates
        Assert.Equal([7.0, 0.0], input.Column("d")!.Select(c => c.Number));
        Assert.Equal([1.0, 0.0], input.Column("e")!.Select(c => c.Number)); // "false" is truthy, as in Python
        Assert.Equal([CellKind.Integer, CellKind.Null], input.Column("f")!.Select(c => c.Kind)); // strings: kept as they are
    }

    [Fact]
    public void A_tensor_signature_takes_columns_by_position_and_checks_the_width()
    {
        var tensor = InputSchema.FromSignature("""[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2]}}]""")!;
        var (input, error) = Enforce("""{"instances": [[1, "2.5"], [3, null]]}""", tensor);
        Assert.Null(error);
        Assert.Equal([1f, 2.5f, 3f, float.NaN], input!.ToFloatMatrix());

        (_, error) = Enforce("""{"dataframe_split": {"columns": ["x", "y", "z"], "data": [[1, 2, 3]]}}""", tensor);
        Assert.Equal("INVALID_PARAMETER_VALUE", error!.ErrorCode);
        Assert.EndsWith("Shape of input (1, 3) does not match expected shape (-1, 2).", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Positional_rows_fill_an_unnamed_signature_in_order_and_a_named_one_refuses_them_as_Python_does()
    {
        var unnamed = InputSchema.FromSignature("""[{"type": "double"}, {"type": "long"}, {"type": "boolean"}]""")!;
        var (input, error) = Enforce("""{"inputs": [[1.5, 2, true, "extra"]]}""", unnamed);
        Assert.Null(error);
        Assert.Equal([1.5, 2.0, 1.0], input!.Values.Select(v => v![0].Number));

        (_, error) = Enforce("""{"inputs": [[1.5]]}""", unnamed);
        Assert.Equal("INVALID_PARAMETER_VALUE", error!.ErrorCode);
        Assert.Contains("declares 3 inputs but the provided value only has 1 inputs", error.Message, StringComparison.Ordinal);

        // pandas names positional columns 0, 1, …: a named signature misses its required columns (recorded from Python).
        (_, error) = Enforce("""{"instances": [[1, 2, 3, 4, true, "s"]]}""");
        Assert.Equal("INVALID_PARAMETER_VALUE", error!.ErrorCode);
        Assert.EndsWith("Error: Model is missing inputs ['a', 'b', 'c']. Note that there were extra inputs: [0, 1, 2, 3, 4, 5]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CSV_reads_a_header_quoted_fields_and_empty_cells_as_missing()
    {
        var frame = ScoringRequest.Parse("text/csv", Encoding.UTF8.GetBytes("c,b,a,f\r\n1,2,3,\"x, y\"\r\n4,,6,\n"), out var parseError);
        Assert.Null(parseError);
        var input = Schema.Enforce(frame!, out var error);
        Assert.Null(error);
        Assert.Equal([3.0, 6.0], input!.Column("a")!.Select(c => c.Number));
        Assert.True(double.IsNaN(input.Column("b")![1].Number));
        Assert.Equal("x, y", input.Column("f")![0].Text);
    }

    [Theory]
    [InlineData("""{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2.5], [null, -0.0], [9007199254740993, 1e400], [-3, 1E-7]]}}""")]
    [InlineData("""{"dataframe_split": {"data": [[1, 2]], "columns": ["a\u0062", "c"]}}""")]
    [InlineData("""{"dataframe_split": {"columns": [], "data": []}}""")]
    [InlineData("""{"dataframe_split": {"columns": ["a"], "data": []}}""")]
    [InlineData(" {\"dataframe_split\" :\n{\"columns\": [\"a\"],\"data\": [[0.1], [1e-320]]} } \n")]
    public void The_one_pass_reader_of_the_usual_split_body_reads_what_the_general_reader_reads(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var fast = ScoringRequest.SimpleSplit(bytes);
        var general = ScoringRequest.ParseJsonDocument(bytes, out var error);
        Assert.Null(error);
        Assert.NotNull(fast);
        Assert.Equal(general!.Names, fast.Names);
        Assert.Equal((general.RowCount, general.Width), (fast.RowCount, fast.Width));
        for (var r = 0; r < general.RowCount; r++)
        {
            for (var c = 0; c < general.Width; c++)
            {
                Assert.Equal(general[r, c], fast[r, c]);
            }
        }
    }

    [Theory]
    [InlineData("""{"dataframe_split": {"columns": ["a"], "data": [[1]], "index": [0]}}""")] // an index: checked by the general reader
    [InlineData("""{"dataframe_split": {"columns": ["a"], "data": [[1]]}, "params": {}}""")] // another key
    [InlineData("""{"dataframe_split": {"columns": ["a"], "data": [["x"]]}}""")] // text
    [InlineData("""{"dataframe_split": {"columns": ["a"], "data": [[true]]}}""")] // a boolean
    [InlineData("""{"dataframe_split": {"columns": ["a"], "data": [[[1, 2]]]}}""")] // a list as a value
    [InlineData("""{"dataframe_split": {"columns": ["a"], "data": [1, 2]}}""")] // scalar rows
    [InlineData("""{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3]]}}""")] // a short row: the general reader's message
    [InlineData("""{"dataframe_split": {"data": [[1, 2]]}}""")] // no columns: positional
    [InlineData("""{"dataframe_split": {"columns": [1], "data": [[1]]}}""")] // a column name that is not text
    [InlineData("""{"dataframe_split": {"columns": ["a"], "columns": ["b"], "data": [[1]]}}""")] // a key twice
    [InlineData("""{"dataframe_split": {"columns": ["a"], "data": [[1]]}, "dataframe_split": {"columns": ["a"], "data": [[2]]}}""")]
    [InlineData("""{"dataframe_split": {"columns": ["a"], "data": [[NaN]]}}""")] // Python's constant
    [InlineData("""{"dataframe_split": {"columns": ["a"], "data": [[1]]}} x""")] // trailing text
    [InlineData("""{"dataframe_split": {"columns": ["a"], "data": [[1]]""")] // cut short
    [InlineData("""{"inputs": [[1]]}""")]
    public void Any_other_body_goes_to_the_general_reader(string json) => Assert.Null(ScoringRequest.SimpleSplit(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void An_inputs_dictionary_of_columns_is_a_named_frame()
    {
        var (input, error) = Enforce("""{"inputs": {"c": [5, 6], "a": [1, 2], "b": [3, 4]}}""");
        Assert.Null(error);
        Assert.Equal(2, input!.Rows);
        Assert.Equal([1.0, 2.0], input.Column("a")!.Select(c => c.Number));
        Assert.Equal([3.0, 4.0], input.Column("b")!.Select(c => c.Number));
        Assert.Equal([5.0, 6.0], input.Column("c")!.Select(c => c.Number));

        (input, error) = Enforce("""{"inputs": {"a": 1, "b": 3, "c": 5}}"""); // scalars: one row
        Assert.Null(error);
        Assert.Equal(1, input!.Rows);
        Assert.Equal([1.0, 3.0, 5.0], new[] { "a", "b", "c" }.Select(n => input.Column(n)![0].Number));
    }

    [Fact]
    public void Integers_stay_exact_beyond_2_to_the_53_and_CSV_text_stays_as_written()
    {
        var (input, error) = Enforce("""{"dataframe_records": [{"a": 1, "b": 1, "c": 9007199254740993}]}""");
        Assert.Null(error);
        Assert.Equal(9007199254740993L, input!.Column("c")![0].Integer);

        var frame = ScoringRequest.Parse("text/csv", Encoding.UTF8.GetBytes("a,b,c,f\n1,2,3,007\n4,5,6,1e3\n"), out _);
        input = Schema.Enforce(frame!, out error);
        Assert.Null(error);
        Assert.Equal(["007", "1e3"], input!.Column("f")!.Select(c => c.AsText()));
    }

    [Fact]
    public void A_null_is_True_as_a_boolean_in_a_numeric_column_and_False_in_an_object_column_as_pandas_casts_it()
    {
        var (input, error) = Enforce("""{"dataframe_records": [{"a": 1, "b": 1, "c": 1, "e": 1}, {"a": 1, "b": 1, "c": 1, "e": null}]}""");
        Assert.Null(error);
        Assert.Equal([1.0, 1.0], input!.Column("e")!.Select(c => c.Number)); // [1, NaN] → [True, True]

        (input, error) = Enforce("""{"dataframe_records": [{"a": 1, "b": 1, "c": 1, "e": "x"}, {"a": 1, "b": 1, "c": 1, "e": null}]}""");
        Assert.Null(error);
        Assert.Equal([1.0, 0.0], input!.Column("e")!.Select(c => c.Number)); // ["x", None] → [True, False]
    }

    [Fact]
    public void Pandas_missing_value_tokens_in_CSV_are_NaN()
    {
        var frame = ScoringRequest.Parse("text/csv", Encoding.UTF8.GetBytes("a,b,c\nn/a,<NA>,1\n#N/A,-NaN,2\n"), out _);
        var input = Schema.Enforce(frame!, out var error);
        Assert.Null(error);
        Assert.All(input!.Column("a")!.Concat(input.Column("b")!), c => Assert.True(double.IsNaN(c.Number)));
    }

    [Fact]
    public void A_signature_this_server_cannot_enforce_is_refused_naming_it()
    {
        var error = Assert.Throws<NotSupportedException>(() => InputSchema.FromSignature("""[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 28, 28]}}]"""));
        Assert.Contains("[-1, 28, 28]", error.Message, StringComparison.Ordinal);
        Assert.Single(InputSchema.FromSignature("""[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]""")!.Columns);
    }

    [Theory]
    [InlineData("x,a,b,c\n0,1,2,1.5\n", "cannot safely convert passed user dtype of int64 for float64 dtyped data in column 3")]
    [InlineData("x,a,b,c\n0,1,2,\n", "Integer column has NA values in column 3")]
    [InlineData("x,a,b,c\n0,1,2,abc\n", "invalid literal for int() with base 10: 'abc'")]
    [InlineData("x,a,b,c\n0,abc,2,1\n", "could not convert string to float: 'abc'")]
    public void CSV_is_refused_where_read_csv_with_the_signatures_types_refuses_it_with_pandas_message(string csv, string expected)
    {
        // What pandas 1.5.3's read_csv(dtype=…) says for these (checked with Debian's pandas), in Python's server's words.
        var frame = ScoringRequest.Parse("text/csv", Encoding.UTF8.GetBytes(csv), out _);
        Schema.Enforce(frame!, out var error);
        Assert.Equal(400, error!.Status);
        Assert.Equal("BAD_REQUEST", error.ErrorCode);
        Assert.Equal(
            "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method. Error: '" + expected + "'",
            error.Message);
    }

    [Fact]
    public void CSV_integral_floats_fit_an_integer_column_as_read_csv_reads_them()
    {
        var frame = ScoringRequest.Parse("text/csv", Encoding.UTF8.GetBytes("a,b,c\n1,2,1e3\n"), out _);
        var input = Schema.Enforce(frame!, out var error);
        Assert.Null(error);
        Assert.Equal(1000L, input!.Column("c")![0].Integer);
    }
}

using System.Globalization;
using System.Text;

namespace MlOps.Client.Stores;

public sealed partial class SqliteTrackingStore
{
    /// <summary>
    /// The names one kind of search understands, as MLflow's search utilities define them (<c>SearchUtils</c>,
    /// <c>SearchExperimentsUtils</c>): which entity prefixes are valid and what they mean, the attribute keys a filter and
    /// an <c>order_by</c> may name, which of them are numbers, and which take a list (<c>IN</c>).
    /// </summary>
    private sealed record SearchVocabulary(
        string Noun,
        IReadOnlyDictionary<string, string> Entities,
        IReadOnlySet<string> FilterAttributes,
        IReadOnlySet<string> NumericAttributes,
        IReadOnlySet<string> ListAttributes,
        IReadOnlySet<string> OrderAttributes);

    /// <summary>One comparison of a filter: entity (<c>attribute|metric|parameter|tag|dataset</c>), key, comparator (upper case), and a text, a number or a list.</summary>
    private readonly record struct SearchComparison(string Entity, string Key, string Comparator, string? Text, double Number, IReadOnlyList<string>? List);

    /// <summary>One <c>order_by</c> clause.</summary>
    private readonly record struct SearchOrdering(string Entity, string Key, bool Ascending);

    /// <summary>MLflow's filter and <c>order_by</c> grammar, parsed as Python's <c>SearchUtils</c> parses it (same accepted forms, same error messages).</summary>
    private static class SearchGrammar
    {
        private static readonly IReadOnlyDictionary<string, string> RunEntities = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["metric"] = "metric", ["metrics"] = "metric",
            ["parameter"] = "parameter", ["parameters"] = "parameter", ["param"] = "parameter", ["params"] = "parameter",
            ["tag"] = "tag", ["tags"] = "tag",
            ["attribute"] = "attribute", ["attr"] = "attribute", ["attributes"] = "attribute", ["run"] = "attribute",
            ["dataset"] = "dataset", ["datasets"] = "dataset",
        };

        private static readonly string[] RunSearchable = ["artifact_uri", "end_time", "run_id", "run_name", "start_time", "status", "user_id"];

        /// <summary><c>search_runs</c>: <c>RunInfo</c>'s searchable attributes and their alternates (<c>created</c>, <c>Run name</c>).</summary>
        public static readonly SearchVocabulary Runs = new(
            "runs",
            RunEntities,
            new HashSet<string>([.. RunSearchable, "created", "Created", "run name", "Run name", "Run Name"], StringComparer.Ordinal),
            new HashSet<string>(["start_time", "end_time", "created", "Created"], StringComparer.Ordinal),
            new HashSet<string>(["run_id"], StringComparer.Ordinal),
            new HashSet<string>([.. RunSearchable, "created", "Created"], StringComparer.Ordinal));

        /// <summary><c>search_experiments</c>: <c>SearchExperimentsUtils</c>.</summary>
        public static readonly SearchVocabulary Experiments = new(
            "experiments",
            new Dictionary<string, string>(StringComparer.Ordinal) { ["attribute"] = "attribute", ["tag"] = "tag", ["tags"] = "tag" },
            new HashSet<string>(["name", "creation_time", "last_update_time"], StringComparer.Ordinal),
            new HashSet<string>(["creation_time", "last_update_time"], StringComparer.Ordinal),
            new HashSet<string>(StringComparer.Ordinal),
            new HashSet<string>(["name", "experiment_id", "creation_time", "last_update_time"], StringComparer.Ordinal));

        /// <summary><c>search_logged_models</c> (MLflow 3): the model's attributes, its metrics, params and tags.</summary>
        public static readonly SearchVocabulary LoggedModels = new(
            "logged models",
            RunEntities.Where(e => e.Value != "dataset").ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal),
            new HashSet<string>(["name", "model_id", "model_type", "status", "source_run_id", "creation_timestamp", "creation_time", "last_updated_timestamp"], StringComparer.Ordinal),
            new HashSet<string>(["creation_timestamp", "creation_time", "last_updated_timestamp"], StringComparer.Ordinal),
            new HashSet<string>(["model_id"], StringComparer.Ordinal),
            new HashSet<string>(["name", "model_id", "creation_timestamp", "creation_time", "last_updated_timestamp"], StringComparer.Ordinal));

        /// <summary>
        /// <c>search_traces</c> (MLflow 3's <c>SearchTraceUtils</c>): the trace's attributes (<c>trace.</c> or
        /// <c>attributes.</c>), its tags and its metadata (<c>metadata.</c> / <c>request_metadata.</c>); <c>name</c> is the
        /// <c>mlflow.traceName</c> tag and <c>run_id</c> the <c>mlflow.sourceRun</c> metadata, as MLflow maps them.
        /// Span, feedback and expectation filters and <c>RLIKE</c> are not supported here.
        /// </summary>
        public static readonly SearchVocabulary Traces = new(
            "traces",
            new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["tag"] = "tag", ["tags"] = "tag",
                ["attribute"] = "attribute", ["attributes"] = "attribute", ["trace"] = "attribute",
                ["metadata"] = "metadata", ["request_metadata"] = "metadata",
            },
            new HashSet<string>(["request_id", "timestamp", "timestamp_ms", "execution_time", "execution_time_ms", "end_time", "end_time_ms", "status", "client_request_id", "name", "run_id"], StringComparer.Ordinal),
            new HashSet<string>(["timestamp", "timestamp_ms", "execution_time", "execution_time_ms", "end_time", "end_time_ms"], StringComparer.Ordinal),
            new HashSet<string>(["request_id"], StringComparer.Ordinal),
            new HashSet<string>(["experiment_id", "timestamp", "timestamp_ms", "execution_time", "execution_time_ms", "end_time", "end_time_ms", "status", "request_id", "name", "run_id"], StringComparer.Ordinal));

        private static readonly string[] NumberComparators = [">", ">=", "!=", "=", "<", "<="];
        private static readonly string[] TextComparators = ["!=", "=", "LIKE", "ILIKE"];
        private static readonly string[] ListComparators = ["!=", "=", "LIKE", "ILIKE", "IN", "NOT IN"];
        private static readonly string[] EntityOrder = ["metric", "parameter", "tag", "attribute", "dataset", "metadata"];
        private static readonly string[] DatasetKeys = ["context", "digest", "name"];

        /// <summary>MLflow's aliases: <c>created</c> is <c>start_time</c>, <c>Run name</c> is <c>run_name</c>.</summary>
        public static string Canonical(string key) => key switch
        {
            "created" or "Created" => "start_time",
            "run name" or "Run name" or "Run Name" => "run_name",
            _ => key,
        };

        /// <summary>Parses a filter (comparisons, <c>and</c> between them) into comparisons, or throws MLflow's <c>INVALID_PARAMETER_VALUE</c> naming the clause.</summary>
        public static List<SearchComparison> ParseFilter(string filter, SearchVocabulary vocabulary)
        {
            var tokens = Lex(filter, filter, "filter");
            var list = new List<SearchComparison>();
            var i = 0;
            while (true)
            {
                // As Python's parser: AND separates comparisons, and is optional and repeatable (sqlparse keeps only the comparisons).
                while (IsKeyword(tokens[i], "AND"))
                {
                    i++;
                }

                if (tokens[i].Kind == LexemeKind.End)
                {
                    return list;
                }

                var identifier = tokens[i];
                if (identifier.Kind != LexemeKind.Name || IsKeyword(identifier))
                {
                    throw InvalidClauses(filter, identifier);
                }

                i++;
                string comparator;
                if (tokens[i].Kind == LexemeKind.Operator)
                {
                    comparator = tokens[i++].Text;
                }
                else if (IsKeyword(tokens[i], "LIKE") || IsKeyword(tokens[i], "ILIKE") || IsKeyword(tokens[i], "IN"))
                {
                    comparator = tokens[i++].Text.ToUpperInvariant();
                }
                else if (IsKeyword(tokens[i], "NOT") && IsKeyword(tokens[i + 1], "IN"))
                {
                    comparator = "NOT IN";
                    i += 2;
                }
                else
                {
                    throw InvalidClauses(filter, identifier);
                }

                List<string>? items = null;
                var value = tokens[i];
                if (value.Kind == LexemeKind.Open)
                {
                    items = [];
                    i++;
                    while (tokens[i].Kind != LexemeKind.Close)
                    {
                        if (tokens[i].Kind is not (LexemeKind.Quoted or LexemeKind.Name) || !IsQuoted(tokens[i].Text))
                        {
                            throw Invalid($"While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: '{tokens[i].Text}' in filter '{filter}'.");
                        }

                        items.Add(tokens[i++].Text[1..^1]);
                        if (tokens[i].Kind == LexemeKind.Comma)
                        {
                            i++;
                        }
                        else if (tokens[i].Kind != LexemeKind.Close)
                        {
                            throw Invalid($"While parsing a list in the query, expected a comma or ')' but got '{tokens[i].Text}' in filter '{filter}'.");
                        }
                    }
                }
                else if (value.Kind is LexemeKind.End or LexemeKind.Comma or LexemeKind.Close || IsKeyword(value))
                {
                    throw InvalidClauses(filter, identifier);
                }

                i++;
                if ((items is not null) != comparator is "IN" or "NOT IN")
                {
                    throw InvalidClauses(filter, identifier);
                }

                list.Add(Comparison(identifier.Text, comparator, value, items, vocabulary));
            }
        }

        /// <summary>Parses one <c>order_by</c> clause: an identifier, then optionally <c>ASC</c> or <c>DESC</c> (ascending when not given, as MLflow).</summary>
        public static SearchOrdering ParseOrderBy(string clause, SearchVocabulary vocabulary)
        {
            var tokens = Lex(clause, clause, "order_by clause");
            if (tokens[0].Kind != LexemeKind.Name || IsKeyword(tokens[0]) || tokens.Count > 3)
            {
                throw Invalid($"Invalid order_by clause '{clause}'. Could not be parsed.");
            }

            var ascending = true;
            if (tokens.Count == 3)
            {
                var direction = tokens[1].Kind == LexemeKind.Name ? tokens[1].Text.ToLowerInvariant() : "";
                if (direction is not ("asc" or "desc"))
                {
                    throw Invalid($"Invalid ordering key in order_by clause '{clause}'.");
                }

                ascending = direction == "asc";
            }

            var (entity, key) = Identifier(tokens[0].Text, vocabulary, vocabulary.OrderAttributes);
            return new SearchOrdering(entity, Canonical(key), ascending);
        }

        private static SearchComparison Comparison(string identifier, string comparator, Lexeme value, List<string>? items, SearchVocabulary vocabulary)
        {
            var (entity, key) = Identifier(identifier, vocabulary, vocabulary.FilterAttributes);
            string? text = null;
            double number = 0;
            var numeric = entity == "metric" || (entity == "attribute" && vocabulary.NumericAttributes.Contains(key));
            if (numeric)
            {
                if (value.Kind != LexemeKind.Number)
                {
                    throw Invalid(entity == "metric"
                        ? $"Expected numeric value type for metric. Found {value.Text}"
                        : $"Expected numeric value type for numeric attribute: {key}. Found {value.Text}");
                }

                number = double.Parse(value.Text, NumberStyles.Float, CultureInfo.InvariantCulture);
            }
            else if (items is not null)
            {
                if (entity != "dataset" && !(entity == "attribute" && vocabulary.ListAttributes.Contains(key)))
                {
                    throw Invalid(entity == "attribute" && vocabulary.ListAttributes.Count == 0
                        ? $"No attribute of {vocabulary.Noun} is compared with a list of quoted string values (IN, NOT IN)."
                        : entity == "attribute"
                        ? $"Only the '{string.Join("', '", vocabulary.ListAttributes)}' attribute supports comparison with a list of quoted string values."
                        : $"Expected a quoted string value for {entity} (e.g. 'my-value'). Got value ({string.Join(", ", items.Select(x => $"'{x}'"))})");
                }

                // As MLflow: ids are lower case, so values with upper-case letters never match (MySQL's IN ignores case).
                items = items.Where(x => x.Any(char.IsLetter) && !x.Any(char.IsUpper)).ToList();
            }
            else if (value.Kind is LexemeKind.Quoted or LexemeKind.Name)
            {
                if (!IsQuoted(value.Text))
                {
                    throw Invalid($"Parameter value is either not quoted or unidentified quote types used for string value {value.Text}. Use either single or double quotes.");
                }

                text = value.Text[1..^1];
            }
            else
            {
                throw Invalid(entity switch
                {
                    "attribute" => $"Expected a quoted string value for attributes. Got value {value.Text}",
                    "dataset" => $"Expected a quoted string value for dataset attributes. Got value {value.Text}",
                    _ => $"Expected a quoted string value for {entity} (e.g. 'my-value'). Got value {value.Text}",
                });
            }

            key = Canonical(key);
            var allowed = entity switch
            {
                "metric" => NumberComparators,
                "parameter" or "tag" or "metadata" => TextComparators,
                "attribute" when numeric => NumberComparators,
                "attribute" when vocabulary.ListAttributes.Count == 0 => TextComparators,
                _ => ListComparators,
            };
            if (!allowed.Contains(comparator))
            {
                throw Invalid($"Invalid comparator '{comparator}' not one of '{string.Join(", ", allowed)}' for {entity} '{key}'.");
            }

            return new SearchComparison(entity, key, comparator, text, number, items);
        }

        /// <summary>Python's <c>_get_identifier</c>: <c>entity.key</c> split at the first dot (no dot: an attribute), backticks and quotes taken off the key.</summary>
        private static (string Entity, string Key) Identifier(string identifier, SearchVocabulary vocabulary, IReadOnlySet<string> attributes)
        {
            var dot = identifier.IndexOf('.', StringComparison.Ordinal);
            var entity = "attribute";
            var key = identifier;
            if (dot >= 0)
            {
                var raw = Unquote(identifier[..dot], '`');
                if (!vocabulary.Entities.TryGetValue(raw, out var known))
                {
                    throw Invalid($"Invalid entity type '{raw}'. Valid values are ['{string.Join("', '", EntityOrder.Where(vocabulary.Entities.Values.Contains))}'].");
                }

                entity = known;
                key = identifier[(dot + 1)..];
            }

            key = Unquote(IsQuoted(key) ? key[1..^1] : key, '`');
            if (entity == "attribute" && !attributes.Contains(key))
            {
                throw Invalid($"Invalid attribute key '{key}' specified. Valid keys are '{string.Join("', '", attributes.Order(StringComparer.Ordinal))}'.");
            }

            if (entity == "dataset" && !DatasetKeys.Contains(key))
            {
                throw Invalid($"Invalid dataset key '{key}' specified. Valid keys are '{string.Join("', '", DatasetKeys)}'.");
            }

            return (entity, key);
        }

        private static string Unquote(string text, char quote) =>
            text.Length >= 2 && text[0] == quote && text[^1] == quote ? text[1..^1] : text;

        private static bool IsQuoted(string text) =>
            text.Length >= 2 && (text[0] == '\'' || text[0] == '"') && text[^1] == text[0];

        private static bool IsKeyword(Lexeme token) =>
            token.Kind == LexemeKind.Name && token.Text.ToUpperInvariant() is "AND" or "OR" or "LIKE" or "ILIKE" or "IN" or "NOT" or "IS" or "NULL";

        private static bool IsKeyword(Lexeme token, string word) =>
            token.Kind == LexemeKind.Name && token.Text.Equals(word, StringComparison.OrdinalIgnoreCase);

        private static MlflowException InvalidClauses(string filter, Lexeme from) =>
            Invalid($"Invalid clause(s) in filter string: '{(from.Kind == LexemeKind.End ? filter.Trim() : filter[from.Position..].Trim())}'. A filter is comparisons joined by AND, e.g. metrics.rmse < 0.5 and params.model = 'tree'.");

        private static MlflowException Invalid(string message) => new(400, MlflowErrorCodes.InvalidParameterValue, message);

        private enum LexemeKind { Name, Quoted, Number, Operator, Open, Close, Comma, End }

        private readonly record struct Lexeme(LexemeKind Kind, string Text, int Position);

        /// <summary>
        /// The tokens of a filter: names (dotted, with <c>`…`</c> or <c>"…"</c> parts), <c>'…'</c> strings, numbers,
        /// comparison operators, parentheses and commas; always ends with <see cref="LexemeKind.End"/>.
        /// </summary>
        private static List<Lexeme> Lex(string s, string whole, string what)
        {
            var tokens = new List<Lexeme>();
            var i = 0;
            while (i < s.Length)
            {
                var c = s[i];
                var start = i;
                if (char.IsWhiteSpace(c))
                {
                    i++;
                    continue;
                }

                if (c == '\'')
                {
                    i = CloseQuote(s, i, whole, what);
                    tokens.Add(new Lexeme(LexemeKind.Quoted, s[start..i], start));
                }
                else if (c is '(' or ')' or ',')
                {
                    tokens.Add(new Lexeme(c == '(' ? LexemeKind.Open : c == ')' ? LexemeKind.Close : LexemeKind.Comma, c.ToString(), start));
                    i++;
                }
                else if (c is '=' or '!' or '<' or '>')
                {
                    var two = i + 1 < s.Length ? s.Substring(i, 2) : "";
                    i += two is "!=" or "<>" or "<=" or ">=" or "==" ? 2 : 1;
                    var op = s[start..i];
                    if (op == "!")
                    {
                        throw Invalid($"Invalid {what} '{whole}'. Could not be parsed at '{s[start..].Trim()}'.");
                    }

                    tokens.Add(new Lexeme(LexemeKind.Operator, op, start));
                }
                else if (char.IsAsciiDigit(c) || (c is '-' or '.' && i + 1 < s.Length && (char.IsAsciiDigit(s[i + 1]) || (s[i + 1] == '.' && c == '-'))))
                {
                    i = NumberEnd(s, i);
                    tokens.Add(new Lexeme(LexemeKind.Number, s[start..i], start));
                }
                else if (char.IsLetter(c) || c is '_' or '`' or '"')
                {
                    while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] is '_' or '.' or '`' or '"'))
                    {
                        i = s[i] is '`' or '"' ? CloseQuote(s, i, whole, what) : i + 1;
                    }

                    tokens.Add(new Lexeme(LexemeKind.Name, s[start..i], start));
                }
                else
                {
                    throw Invalid($"Invalid {what} '{whole}'. Could not be parsed at '{s[start..].Trim()}'; a key with other characters than letters, digits and '_' is quoted with backticks, e.g. metrics.`val-loss`.");
                }
            }

            tokens.Add(new Lexeme(LexemeKind.End, "", s.Length));
            return tokens;
        }

        private static int CloseQuote(string s, int open, string whole, string what)
        {
            var close = s.IndexOf(s[open], open + 1);
            while (close >= 0 && s[open] == '\'' && close + 1 < s.Length && s[close + 1] == '\'')
            {
                close = s.IndexOf('\'', close + 2); // '' inside a string, as SQL
            }

            return close < 0
                ? throw Invalid($"Invalid {what} '{whole}'. The quote {s[open]} at position {open} is never closed.")
                : close + 1;
        }

        private static int NumberEnd(string s, int i)
        {
            if (s[i] == '-')
            {
                i++;
            }

            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                i++;
            }

            if (i < s.Length && s[i] == '.')
            {
                i++;
                while (i < s.Length && char.IsAsciiDigit(s[i]))
                {
                    i++;
                }
            }

            if (i + 1 < s.Length && s[i] is 'e' or 'E' && (char.IsAsciiDigit(s[i + 1]) || (s[i + 1] is '-' or '+' && i + 2 < s.Length && char.IsAsciiDigit(s[i + 2]))))
            {
                i += 2;
                while (i < s.Length && char.IsAsciiDigit(s[i]))
                {
                    i++;
                }
            }

            return i;
        }
    }

    /// <summary>Compiles parsed searches to SQLite, as MLflow's SQL store does (<c>_get_sqlalchemy_filter_clauses</c>, <c>_get_orderby_clauses</c>).</summary>
    private static class SearchSql
    {
        /// <summary>One comparison of <paramref name="column"/>: LIKE case-sensitive (MLflow sets SQLite's <c>case_sensitive_like</c>), ILIKE on lower case, IN lists.</summary>
        public static string Compare(string column, SearchComparison c, List<object> args)
        {
            if (c.List is { } list)
            {
                if (list.Count == 0)
                {
                    return c.Comparator == "IN" ? "0" : "1";
                }

                var slots = new List<string>();
                foreach (var item in list)
                {
                    slots.Add(Slot(args, item));
                }

                return $"{column} {c.Comparator} ({string.Join(", ", slots)})";
            }

            object value = c.Text is null ? c.Number : c.Text;
            return c.Comparator switch
            {
                "LIKE" => $"{column} GLOB {Slot(args, LikeToGlob(c.Text!))}",
                "ILIKE" => $"lower({column}) LIKE lower({Slot(args, value)})",
                _ => $"{column} {c.Comparator} {Slot(args, value)}",
            };
        }

        public static string Slot(List<object> args, object value)
        {
            args.Add(value);
            return "$p" + (args.Count - 1).ToString(CultureInfo.InvariantCulture);
        }

        /// <summary>A LIKE pattern as a case-sensitive GLOB: <c>%</c> → <c>*</c>, <c>_</c> → <c>?</c>, GLOB's own wildcards made literal.</summary>
        public static string LikeToGlob(string like)
        {
            var glob = new StringBuilder(like.Length + 8);
            foreach (var ch in like)
            {
                glob.Append(ch switch
                {
                    '%' => "*",
                    '_' => "?",
                    '*' => "[*]",
                    '?' => "[?]",
                    '[' => "[[]",
                    _ => ch.ToString(),
                });
            }

            return glob.ToString();
        }

        /// <summary>The WHERE conditions of a <c>search_runs</c> filter (each starts with <c> AND </c>).</summary>
        public static void RunFilter(string filter, StringBuilder sql, List<object> args)
        {
            foreach (var c in SearchGrammar.ParseFilter(filter, SearchGrammar.Runs))
            {
                sql.Append(" AND ");
                var key = c.Key;
                switch (c.Entity)
                {
                    case "attribute" when key == "run_name":
                        // As MLflow: the name is compared on the mlflow.runName tag (runs of MLflow ≤ 1.29 have no name column value).
                        sql.Append(CultureInfo.InvariantCulture, $"EXISTS (SELECT 1 FROM tags t WHERE t.run_uuid = runs.run_uuid AND t.key = {Slot(args, MlflowTags.RunName)} AND {Compare("t.value", c, args)})");
                        break;
                    case "attribute":
                        sql.Append(Compare("runs." + (key == "run_id" ? "run_uuid" : key), c, args));
                        break;
                    case "metric":
                        sql.Append(CultureInfo.InvariantCulture, $"EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_uuid = runs.run_uuid AND m.key = {Slot(args, key)} AND {Compare("m.value", c, args)})");
                        break;
                    case "parameter":
                        sql.Append(CultureInfo.InvariantCulture, $"EXISTS (SELECT 1 FROM params p WHERE p.run_uuid = runs.run_uuid AND p.key = {Slot(args, key)} AND {Compare("p.value", c, args)})");
                        break;
                    case "tag":
                        sql.Append(CultureInfo.InvariantCulture, $"EXISTS (SELECT 1 FROM tags t WHERE t.run_uuid = runs.run_uuid AND t.key = {Slot(args, key)} AND {Compare("t.value", c, args)})");
                        break;
                    case "dataset" when key == "context":
                        sql.Append(CultureInfo.InvariantCulture, $"EXISTS (SELECT 1 FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id JOIN input_tags it ON it.input_uuid = i.input_uuid AND it.name = {Slot(args, "mlflow.data.context")} WHERE i.destination_id = runs.run_uuid AND {Compare("it.value", c, args)})");
                        break;
                    default:
                        sql.Append(CultureInfo.InvariantCulture, $"EXISTS (SELECT 1 FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id WHERE i.destination_id = runs.run_uuid AND {Compare("d." + key, c, args)})");
                        break;
                }
            }
        }

        /// <summary>
        /// The joins and ORDER BY of <c>search_runs</c>: each clause sorts missing values last (and a metric's NaN after its
        /// numbers, before missing), then <c>start_time DESC</c> unless ordered by it, then the run id.
        /// </summary>
        public static (string Joins, string OrderBy) RunOrder(IList<string> orderBy, List<object> args)
        {
            var joins = new StringBuilder();
            var parts = new List<string>();
            var seen = new HashSet<(string, string)>();
            foreach (var clause in orderBy)
            {
                var o = SearchGrammar.ParseOrderBy(clause, SearchGrammar.Runs);
                if (!seen.Add((o.Entity, o.Key)))
                {
                    throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue, $"`order_by` contains duplicate fields: ['{string.Join("', '", orderBy)}']");
                }

                var alias = "o" + parts.Count.ToString(CultureInfo.InvariantCulture);
                string value;
                if (o.Entity == "attribute")
                {
                    value = "runs." + o.Key switch { "run_id" => "run_uuid", "run_name" => "name", var k => k };
                    parts.Add($"CASE WHEN {value} IS NULL THEN 1 ELSE 0 END");
                }
                else
                {
                    var table = o.Entity switch { "metric" => "latest_metrics", "parameter" => "params", _ => "tags" };
                    joins.Append(CultureInfo.InvariantCulture, $" LEFT JOIN {table} {alias} ON {alias}.run_uuid = runs.run_uuid AND {alias}.key = {Slot(args, o.Key)}");
                    value = alias + ".value";
                    parts.Add(o.Entity == "metric"
                        ? $"CASE WHEN {alias}.is_nan = 1 THEN 1 WHEN {value} IS NULL THEN 2 ELSE 0 END"
                        : $"CASE WHEN {value} IS NULL THEN 1 ELSE 0 END");
                }

                parts.Add(value + (o.Ascending ? " ASC" : " DESC"));
            }

            if (!seen.Contains(("attribute", "start_time")))
            {
                parts.Add("runs.start_time DESC");
            }

            parts.Add("runs.run_uuid ASC");
            return (joins.ToString(), string.Join(", ", parts));
        }

        /// <summary>The column (or expression) a trace attribute is compared on.</summary>
        private static string TraceColumn(string key, List<object> args) => key switch
        {
            "timestamp" or "timestamp_ms" => "trace_info.timestamp_ms",
            "execution_time" or "execution_time_ms" => "trace_info.execution_time_ms",
            "end_time" or "end_time_ms" => "(trace_info.timestamp_ms + trace_info.execution_time_ms)",
            "name" => $"(SELECT t.value FROM trace_tags t WHERE t.request_id = trace_info.request_id AND t.key = {Slot(args, "mlflow.traceName")})",
            "run_id" => $"(SELECT m.value FROM trace_request_metadata m WHERE m.request_id = trace_info.request_id AND m.key = {Slot(args, "mlflow.sourceRun")})",
            "experiment_id" => "trace_info.experiment_id",
            var column => "trace_info." + column,
        };

        /// <summary>The WHERE conditions of a <c>search_traces</c> filter.</summary>
        public static void TraceFilter(string filter, StringBuilder sql, List<object> args)
        {
            foreach (var c in SearchGrammar.ParseFilter(filter, SearchGrammar.Traces))
            {
                sql.Append(" AND ").Append(c.Entity switch
                {
                    "tag" => $"EXISTS (SELECT 1 FROM trace_tags t WHERE t.request_id = trace_info.request_id AND t.key = {Slot(args, c.Key)} AND {Compare("t.value", c, args)})",
                    "metadata" => $"EXISTS (SELECT 1 FROM trace_request_metadata m WHERE m.request_id = trace_info.request_id AND m.key = {Slot(args, c.Key)} AND {Compare("m.value", c, args)})",
                    _ => Compare(TraceColumn(c.Key, args), c, args),
                });
            }
        }

        /// <summary>The ORDER BY of <c>search_traces</c>: the clauses given, then <c>timestamp_ms DESC</c> (unless ordered by it) and the trace id, as MLflow's SQL store.</summary>
        public static string TraceOrder(IList<string> orderBy, List<object> args)
        {
            var parts = new List<string>();
            var byTime = false;
            foreach (var clause in orderBy)
            {
                var o = SearchGrammar.ParseOrderBy(clause, SearchGrammar.Traces);
                var column = o.Entity switch
                {
                    "tag" => $"(SELECT t.value FROM trace_tags t WHERE t.request_id = trace_info.request_id AND t.key = {Slot(args, o.Key)})",
                    "metadata" => $"(SELECT m.value FROM trace_request_metadata m WHERE m.request_id = trace_info.request_id AND m.key = {Slot(args, o.Key)})",
                    _ => TraceColumn(o.Key, args),
                };
                byTime |= o.Entity == "attribute" && o.Key is "timestamp" or "timestamp_ms";
                parts.Add(column + (o.Ascending ? " ASC" : " DESC"));
            }

            if (!byTime)
            {
                parts.Add("trace_info.timestamp_ms DESC");
            }

            parts.Add("trace_info.request_id ASC");
            return string.Join(", ", parts);
        }

        /// <summary>The WHERE conditions of a <c>search_experiments</c> filter.</summary>
        public static void ExperimentFilter(string filter, StringBuilder sql, List<object> args)
        {
            foreach (var c in SearchGrammar.ParseFilter(filter, SearchGrammar.Experiments))
            {
                sql.Append(" AND ").Append(c.Entity == "tag"
                    ? $"EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_id = experiments.experiment_id AND t.key = {Slot(args, c.Key)} AND {Compare("t.value", c, args)})"
                    : Compare("experiments." + c.Key, c, args));
            }
        }

        /// <summary>The ORDER BY of <c>search_experiments</c>: <c>creation_time DESC, experiment_id ASC</c> by default, <c>experiment_id DESC</c> as the tie-breaker.</summary>
        public static string ExperimentOrder(IList<string> orderBy)
        {
            var parts = new List<string>();
            var byId = false;
            foreach (var clause in orderBy.Count == 0 ? ["creation_time DESC", "experiment_id ASC"] : orderBy)
            {
                var o = SearchGrammar.ParseOrderBy(clause, SearchGrammar.Experiments);
                if (o.Entity != "attribute")
                {
                    throw new MlflowException(400, MlflowErrorCodes.InvalidParameterValue, $"Invalid order_by entity: {o.Entity}");
                }

                byId |= o.Key == "experiment_id";
                parts.Add("experiments." + o.Key + (o.Ascending ? " ASC" : " DESC"));
            }

            if (!byId)
            {
                parts.Add("experiments.experiment_id DESC");
            }

            return string.Join(", ", parts);
        }
    }
}

using System.Globalization;
using System.Text;

namespace MlOps.Client.Projects;

/// <summary>
/// An entry point of an <c>MLproject</c>: its parameters and its command template, in which <c>{name}</c> is replaced by
/// the parameter's value quoted for the shell (Python's <c>str.format</c> over <c>shlex.quote</c>d values; <c>{{</c> and
/// <c>}}</c> are literal braces); parameters the entry point does not declare are appended as <c>--key value</c>.
/// </summary>
public sealed class ProjectEntryPoint
{
    internal ProjectEntryPoint(string name, IReadOnlyList<ProjectParameter> parameters, string command)
    {
        Name = name;
        Parameters = parameters;
        Command = command;
    }

    /// <summary>The entry point's name (<c>main</c>, or a script file such as <c>train.py</c>).</summary>
    public string Name { get; }

    /// <summary>The declared parameters, in the file's order.</summary>
    public IReadOnlyList<ProjectParameter> Parameters { get; }

    /// <summary>The command template.</summary>
    public string Command { get; }

    /// <summary>Throws when a required parameter has no value (Python's message: <c>No value given for missing parameters: 'a', 'b'</c>).</summary>
    /// <param name="values">The values given (<c>-P name=value</c>).</param>
    /// <exception cref="ProjectExecutionException">A required parameter is missing.</exception>
    public void Validate(IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var missing = Parameters.Where(p => p.IsRequired && !values.ContainsKey(p.Name)).Select(p => $"'{p.Name}'").ToList();
        if (missing.Count > 0)
        {
            throw new ProjectExecutionException("No value given for missing parameters: " + string.Join(", ", missing));
        }
    }

    /// <summary>
    /// The declared parameters' values (given, else default; <c>uri</c> values checked to have a scheme) and the extra
    /// ones, unquoted, in the order Python's launcher logs them: declared parameters in the file's order, then extras in
    /// the order given.
    /// </summary>
    /// <param name="values">The values given.</param>
    /// <exception cref="ProjectExecutionException">A required parameter is missing, or a <c>uri</c> value has no scheme.</exception>
    public ProjectParameterValues ResolveParameters(IReadOnlyDictionary<string, string> values)
    {
        Validate(values);
        var declared = new List<KeyValuePair<string, string>>();
        foreach (var p in Parameters)
        {
            var value = values.TryGetValue(p.Name, out var given) ? given : p.Default!;
            if (p.Type == "uri" && !HasScheme(value))
            {
                throw new ProjectExecutionException($"Expected URI for parameter {p.Name} but got {value}");
            }

            declared.Add(new(p.Name, value));
        }

        var extra = values.Where(v => Parameters.All(p => p.Name != v.Key)).ToList();
        return new ProjectParameterValues(declared, extra);
    }

    /// <summary>The command line: the template with each declared value quoted for the shell, then <c>--key value</c> for each extra.</summary>
    /// <param name="values">Values from <see cref="ResolveParameters"/> (with <c>path</c> values made local).</param>
    /// <exception cref="ProjectExecutionException">The template names a parameter the entry point does not declare, or has an unmatched brace.</exception>
    public string FormatCommand(ProjectParameterValues values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var quoted = values.Declared.ToDictionary(v => v.Key, v => ShellWords.Quote(v.Value), StringComparer.Ordinal);
        var text = new StringBuilder(Command.Length + 64);
        for (var i = 0; i < Command.Length; i++)
        {
            var c = Command[i];
            if (c == '{' && i + 1 < Command.Length && Command[i + 1] == '{')
            {
                text.Append('{');
                i++;
            }
            else if (c == '}' && i + 1 < Command.Length && Command[i + 1] == '}')
            {
                text.Append('}');
                i++;
            }
            else if (c == '{')
            {
                var close = Command.IndexOf('}', i + 1);
                if (close < 0)
                {
                    throw new ProjectExecutionException($"The command of entry point '{Name}' has a '{{' without its '}}': {Command}");
                }

                var field = Command[(i + 1)..close];
                var name = field.Split(':', '!')[0];
                if (!quoted.TryGetValue(name, out var value))
                {
                    throw new ProjectExecutionException(
                        $"The command of entry point '{Name}' uses {{{name}}}, which is not one of its parameters ({string.Join(", ", Parameters.Select(p => p.Name))}).");
                }

                text.Append(value);
                i = close;
            }
            else if (c == '}')
            {
                throw new ProjectExecutionException($"The command of entry point '{Name}' has a '}}' without its '{{': {Command}");
            }
            else
            {
                text.Append(c);
            }
        }

        foreach (var (key, value) in values.Extra)
        {
            text.Append(CultureInfo.InvariantCulture, $" --{key} {ShellWords.Quote(value)}");
        }

        return text.ToString();
    }

    /// <summary>The parameters as Python's launcher logs them on the run: every declared one (defaults included), then the extras, each value <c>shlex.quote</c>d.</summary>
    /// <param name="values">Values from <see cref="ResolveParameters"/>.</param>
    public static IReadOnlyList<KeyValuePair<string, string>> LoggedParameters(ProjectParameterValues values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return [.. values.Declared.Concat(values.Extra).Select(v => new KeyValuePair<string, string>(v.Key, ShellWords.Quote(v.Value)))];
    }

    /// <summary>Python's <c>urlparse(value).scheme</c> is not empty.</summary>
    internal static bool HasScheme(string value)
    {
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && char.IsAsciiLetter(value[0]) && value[..colon].All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.');
    }
}

/// <summary>An entry point's parameter values: the declared ones in the file's order, then the extras in the order given.</summary>
/// <param name="Declared">Every declared parameter's value (given, else its default).</param>
/// <param name="Extra">Values given for names the entry point does not declare (appended to the command as <c>--key value</c>).</param>
public sealed record ProjectParameterValues(IReadOnlyList<KeyValuePair<string, string>> Declared, IReadOnlyList<KeyValuePair<string, string>> Extra);

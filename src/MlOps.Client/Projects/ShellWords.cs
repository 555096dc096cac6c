using System.Text;

namespace MlOps.Client.Projects;

/// <summary>POSIX shell quoting and splitting as Python's <c>shlex.quote</c> and <c>shlex.split</c> do them (MLflow quotes every parameter value with the first).</summary>
internal static class ShellWords
{
    /// <summary><c>shlex.quote</c>: <c>''</c> for empty, the word itself when it has only <c>[\w@%+=:,./-]</c> (ASCII), else single quotes.</summary>
    public static string Quote(string value)
    {
        if (value.Length == 0)
        {
            return "''";
        }

        foreach (var c in value)
        {
            if (!IsSafe(c))
            {
                return "'" + value.Replace("'", "'\"'\"'", StringComparison.Ordinal) + "'";
            }
        }

        return value;
    }

    private static bool IsSafe(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' or '@' or '%' or '+' or '=' or ':' or ',' or '.' or '/' or '-';

    /// <summary><c>shlex.split</c> (POSIX mode, no comments): words separated by whitespace, single quotes literal, double quotes with <c>\</c> escaping <c>\ " $ `</c> and newline.</summary>
    /// <exception cref="FormatException">An unclosed quote or a trailing backslash.</exception>
    public static IReadOnlyList<string> Split(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }

                continue;
            }

            inWord = true;
            switch (c)
            {
                case '\'':
                    var close = text.IndexOf('\'', i + 1);
                    if (close < 0)
                    {
                        throw new FormatException("No closing quotation in: " + text);
                    }

                    word.Append(text, i + 1, close - i - 1);
                    i = close;
                    break;
                case '"':
                    i++;
                    for (; ; i++)
                    {
                        if (i >= text.Length)
                        {
                            throw new FormatException("No closing quotation in: " + text);
                        }

                        if (text[i] == '"')
                        {
                            break;
                        }

                        if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] is '\\' or '"' or '$' or '`' or '\n')
                        {
                            i++;
                        }

                        word.Append(text[i]);
                    }

                    break;
                case '\\':
                    if (i + 1 >= text.Length)
                    {
                        throw new FormatException("No escaped character in: " + text);
                    }

                    word.Append(text[++i]);
                    break;
                default:
                    word.Append(c);
                    break;
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return words;
    }
}

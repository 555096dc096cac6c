using System.Runtime.CompilerServices;

namespace MlOps.Client;

/// <summary>One page of a paged MLflow API.</summary>
/// <typeparam name="T">The item type.</typeparam>
/// <param name="Values">The items of this page.</param>
/// <param name="NextPageToken">The token of the next page, or <see langword="null"/> on the last page.</param>
public sealed record MlflowPage<T>(IReadOnlyList<T> Values, string? NextPageToken);

/// <summary>
/// A paged MLflow collection: enumerate it to get every item (following <c>next_page_token</c>), or call
/// <see cref="AsPages"/> to walk page by page.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
public abstract class MlflowPageable<T> : IAsyncEnumerable<T>
{
    /// <summary>Enumerates the pages, starting at <paramref name="pageToken"/>.</summary>
    /// <param name="pageToken">The token of the first page to fetch; <see langword="null"/> for the first page.</param>
    /// <param name="pageSize">The page size to ask for; <see langword="null"/> for the query's own.</param>
    public abstract IAsyncEnumerable<MlflowPage<T>> AsPages(string? pageToken = null, int? pageSize = null);

    /// <inheritdoc />
    public virtual async IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        await foreach (var page in AsPages().WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            foreach (var item in page.Values)
            {
                yield return item;
            }
        }
    }
}

/// <summary>Factory of <see cref="MlflowPageable{T}"/> instances (also handy for mocks in tests).</summary>
public static class MlflowPageable
{
    /// <summary>Creates a pageable from a function that fetches one page.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="fetchPage">Fetches the page for a token and page size.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    public static MlflowPageable<T> Create<T>(
        Func<string?, int?, CancellationToken, Task<MlflowPage<T>>> fetchPage,
        CancellationToken cancellationToken = default) => Create(fetchPage, null, null, cancellationToken);

    /// <summary>Creates a pageable that stops after <paramref name="maxItems"/> items (Python's <c>max_results</c>).</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="fetchPage">Fetches the page for a token and page size.</param>
    /// <param name="maxItems">The most items enumerated over all pages; <see langword="null"/>: all. No request asks for more than what is left.</param>
    /// <param name="defaultPageSize">The page size asked for when the caller of <see cref="MlflowPageable{T}.AsPages"/> gives none.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    public static MlflowPageable<T> Create<T>(
        Func<string?, int?, CancellationToken, Task<MlflowPage<T>>> fetchPage,
        int? maxItems,
        int? defaultPageSize,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fetchPage);
        return new FuncPageable<T>(fetchPage, maxItems, defaultPageSize, cancellationToken);
    }

    private sealed class FuncPageable<T>(
        Func<string?, int?, CancellationToken, Task<MlflowPage<T>>> fetchPage,
        int? maxItems,
        int? defaultPageSize,
        CancellationToken cancellationToken) : MlflowPageable<T>
    {
        public override IAsyncEnumerable<MlflowPage<T>> AsPages(string? pageToken = null, int? pageSize = null) =>
            Enumerate(pageToken, pageSize, CancellationToken.None);

        private async IAsyncEnumerable<MlflowPage<T>> Enumerate(
            string? pageToken,
            int? pageSize,
            [EnumeratorCancellation] CancellationToken enumeratorToken)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, enumeratorToken);
            string? token = pageToken;
            var remaining = maxItems ?? long.MaxValue;
            do
            {
                // Never ask for more than what is left of the cap: max_results = 1 costs one request for one item.
                var per = pageSize ?? defaultPageSize;
                var size = per is null || maxItems is null ? per : (int)Math.Min(per.Value, remaining);
                var page = await fetchPage(token, size, linked.Token).ConfigureAwait(false);
                if (page.Values.Count > remaining)
                {
                    page = new MlflowPage<T>([.. page.Values.Take((int)remaining)], null);
                }

                remaining -= page.Values.Count;
                yield return page;
                if (remaining <= 0)
                {
                    yield break;
                }

                // A server that hands back the token it was given would page forever: stop there.
                token = string.IsNullOrEmpty(page.NextPageToken) || page.NextPageToken == token ? null : page.NextPageToken;
            }
            while (token is not null);
        }
    }
}

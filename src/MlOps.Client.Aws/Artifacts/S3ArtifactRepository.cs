using System.Collections.Concurrent;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using MlOps.Client.Artifacts;

namespace MlOps.Client.Aws;

/// <summary>
/// Artifacts in Amazon S3 or an S3-compatible store (<c>s3://bucket/path</c>), written directly with AWSSDK.S3 as
/// Python's <c>S3ArtifactRepository</c> writes them with boto3: what an MLflow server started with
/// <c>--no-serve-artifacts --default-artifact-root s3://…</c> hands out. Configured by <c>MLFLOW_S3_ENDPOINT_URL</c>,
/// <c>MLFLOW_S3_IGNORE_TLS</c>, <c>MLFLOW_S3_UPLOAD_EXTRA_ARGS</c>, <c>MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE</c> and
/// <c>AWS_DEFAULT_REGION</c>; credentials from the standard AWS chain. Files of 8 MiB and more go up as multipart uploads
/// of 8 MiB parts, 10 at a time (boto3's defaults); a failed multipart upload is aborted. Referencing this package is
/// enough: <see cref="ArtifactRepositories.ForUri"/> finds it for <c>s3://</c> URIs.
/// </summary>
public sealed class S3ArtifactRepository : DelegatingArtifactRepository
{
    private static readonly ConcurrentDictionary<string, IAmazonS3> s_clients = new(StringComparer.Ordinal);
    /// <summary>Creates the repository of <paramref name="artifactUri"/> with the settings of the process environment (one client per settings, shared, as Python caches its boto3 clients).</summary>
    /// <param name="artifactUri"><c>s3://bucket/path</c>.</param>
    /// <exception cref="FormatException">A variable has a value Python would refuse (the message names it).</exception>
    public S3ArtifactRepository(string artifactUri)
        : this(artifactUri, S3Settings.FromEnvironment(), client: null)
    {
    }

    /// <summary>Creates the repository of <paramref name="artifactUri"/> with a client of your own (credentials, endpoint, retries).</summary>
    /// <param name="artifactUri"><c>s3://bucket/path</c>.</param>
    /// <param name="client">The S3 client; not disposed by the repository.</param>
    public S3ArtifactRepository(string artifactUri, IAmazonS3 client)
        : this(artifactUri, S3Settings.FromEnvironment(), client ?? throw new ArgumentNullException(nameof(client)))
    {
    }

    internal S3ArtifactRepository(string artifactUri, S3Settings settings, IAmazonS3? client)
        : base(Create(artifactUri, settings, client))
    {
    }

    private static ObjectStoreArtifactRepository Create(string artifactUri, S3Settings settings, IAmazonS3? client)
    {
        var (bucket, prefix) = Parse(artifactUri);
        client ??= s_clients.GetOrAdd(settings.ClientKey(), _ => CreateClient(settings));
        return new ObjectStoreArtifactRepository(artifactUri, new S3ObjectStore(client, bucket, settings), prefix);
    }

    /// <summary>The bucket and key prefix of an <c>s3://</c> URI.</summary>
    internal static (string Bucket, string Prefix) Parse(string artifactUri)
    {
        ArgumentException.ThrowIfNullOrEmpty(artifactUri);
        if (!artifactUri.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Not an S3 URI: '{artifactUri}' (expected s3://bucket/path).", nameof(artifactUri));
        }

        var rest = artifactUri["s3://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? rest : rest[..slash];
        if (bucket.Length == 0)
        {
            throw new ArgumentException($"The S3 URI '{artifactUri}' names no bucket (expected s3://bucket/path).", nameof(artifactUri));
        }

        var prefix = slash < 0 ? "" : rest[(slash + 1)..].Split('?', '#')[0].Trim('/'); // not unquoted, as urlparse
        return (bucket, prefix);
    }

    private static AmazonS3Client CreateClient(S3Settings settings) =>
        settings.Unsigned ? new AmazonS3Client(new AnonymousAWSCredentials(), settings.ClientConfig()) : new AmazonS3Client(settings.ClientConfig());
}

/// <summary>Creates <see cref="S3ArtifactRepository"/> for <c>s3://</c> URIs; found by the core through its name.</summary>
internal sealed class S3ArtifactRepositoryProvider : IArtifactRepositoryProvider
{
    public IArtifactRepository Create(string artifactUri, ArtifactOptions options) => new S3ArtifactRepository(artifactUri);
}

/// <summary>A bucket through AWSSDK.S3: ListObjectsV2, TransferUtility uploads (multipart above 8 MiB), GetObject, DeleteObjects.</summary>
internal sealed class S3ObjectStore(IAmazonS3 client, string bucket, S3Settings settings) : IObjectStore
{
    public async Task<ObjectPage> ListAsync(string prefix, bool delimited, string? continuation, CancellationToken cancellationToken)
    {
        var response = await Call(() => client.ListObjectsV2Async(new ListObjectsV2Request
        {
            BucketName = bucket,
            Prefix = prefix,
            Delimiter = delimited ? "/" : null,
            ContinuationToken = continuation,
        }, cancellationToken), prefix).ConfigureAwait(false);
        return new ObjectPage(
            response.CommonPrefixes ?? [],
            [.. (response.S3Objects ?? []).Select(o => (o.Key, o.Size ?? 0L))],
            response.IsTruncated == true ? response.NextContinuationToken : null);
    }

    public async Task UploadAsync(string key, string localFile, long length, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        // boto3's upload_file: one PUT below 8 MiB, else a multipart upload of 8 MiB parts, 10 in flight, aborted on failure.
        // Payloads are signed whole (not aws-chunked) towards S3-compatible endpoints, which store that framing as content.
        var chunked = client.Config.ServiceURL is null;
        var put = new PutObjectRequest { BucketName = bucket, Key = key, FilePath = localFile, UseChunkEncoding = chunked };
        settings.Apply(put, localFile);
        if (length < S3Settings.MultipartThreshold)
        {
            if (progress is not null)
            {
                put.StreamTransferProgress += (_, e) => progress.Report(e.TransferredBytes);
            }

            await Call(() => client.PutObjectAsync(put, cancellationToken), key).ConfigureAwait(false);
            return;
        }

        var partSize = Math.Max(S3Settings.PartSize, (length + MaxParts - 1) / MaxParts);
        var count = (int)((length + partSize - 1) / partSize);
        var initiated = await Call(() => client.InitiateMultipartUploadAsync(S3Settings.Initiate(put), cancellationToken), key).ConfigureAwait(false);
        var etags = new PartETag[count];
        var sent = new long[count];
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(1, count), new ParallelOptions { MaxDegreeOfParallelism = S3Settings.MaxConcurrency, CancellationToken = cancellationToken },
                async (number, ct) =>
                {
                    var offset = (number - 1) * partSize;
                    var part = new UploadPartRequest
                    {
                        BucketName = bucket,
                        Key = key,
                        UploadId = initiated.UploadId,
                        PartNumber = number,
                        FilePath = localFile,
                        FilePosition = offset,
                        PartSize = Math.Min(partSize, length - offset),
                        UseChunkEncoding = chunked,
                        ServerSideEncryptionCustomerMethod = put.ServerSideEncryptionCustomerMethod,
                        ServerSideEncryptionCustomerProvidedKey = put.ServerSideEncryptionCustomerProvidedKey,
                        ExpectedBucketOwner = put.ExpectedBucketOwner,
                        RequestPayer = put.RequestPayer,
                    };
                    if (put.ChecksumAlgorithm is not null)
                    {
                        part.ChecksumAlgorithm = put.ChecksumAlgorithm; // an upload begun with a checksum algorithm needs it on every part
                    }

                    if (progress is not null)
                    {
                        part.StreamTransferProgress += (_, e) =>
                        {
                            lock (sent)
                            {
                                sent[number - 1] = e.TransferredBytes;
                                progress.Report(sent.Sum()); // under the lock: reports never go backwards
                            }
                        };
                    }

                    var uploaded = await Call(() => client.UploadPartAsync(part, ct), key).ConfigureAwait(false);
                    etags[number - 1] = new PartETag(number, uploaded.ETag)
                    {
                        ChecksumCRC32 = uploaded.ChecksumCRC32,
                        ChecksumCRC32C = uploaded.ChecksumCRC32C,
                        ChecksumSHA1 = uploaded.ChecksumSHA1,
                        ChecksumSHA256 = uploaded.ChecksumSHA256,
                    };
                }).ConfigureAwait(false);

            await Call(() => client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = bucket,
                Key = key,
                UploadId = initiated.UploadId,
                PartETags = [.. etags],
                ExpectedBucketOwner = put.ExpectedBucketOwner,
                RequestPayer = put.RequestPayer,
            }, cancellationToken), key).ConfigureAwait(false);
        }
        catch
        {
            try
            {
                await client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = initiated.UploadId }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or IOException or HttpRequestException or TimeoutException or OperationCanceledException)
            {
                // the upload's own failure is the one to report; S3's lifecycle rules clear what an abort could not
            }

            throw;
        }
    }

    /// <summary>Attempts of one download range, each resuming where the last stopped.</summary>
    private const int RangeAttempts = 4;

    /// <summary>S3's limit of parts per upload: larger files get larger parts (as boto3 adjusts its chunk size).</summary>
    private const long MaxParts = 10_000;

    public async Task DownloadAsync(string key, Stream destination, IProgress<(long Done, long? Total)>? progress, CancellationToken cancellationToken)
    {
        if (destination is FileStream { CanSeek: true, CanWrite: true, Position: 0 } file)
        {
            // boto3's download_file: ranged GETs of 8 MiB, 10 at a time, each written at its offset.
            var head = await Call(() => client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = key }, cancellationToken), key).ConfigureAwait(false);
            if (head.ContentLength >= S3Settings.MultipartThreshold)
            {
                await DownloadRangesAsync(key, head.ETag, head.ContentLength, file, progress, cancellationToken).ConfigureAwait(false);
                return;
            }
        }

        using var response = await Call(() => client.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = key }, cancellationToken), key).ConfigureAwait(false);
        var total = response.ContentLength;
        long done = 0;
        await CopyAsync(response.ResponseStream, (buffer, ct) => destination.WriteAsync(buffer, ct), read =>
        {
            done += read;
            progress?.Report((done, total));
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task DownloadRangesAsync(string key, string etag, long size, FileStream file, IProgress<(long Done, long? Total)>? progress, CancellationToken cancellationToken)
    {
        file.SetLength(size);
        var handle = file.SafeFileHandle;
        var count = (int)((size + S3Settings.PartSize - 1) / S3Settings.PartSize);
        long done = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = S3Settings.MaxConcurrency, CancellationToken = cancellationToken },
            async (index, ct) =>
            {
                var start = index * S3Settings.PartSize;
                var end = Math.Min(size, start + S3Settings.PartSize) - 1;
                var offset = start;
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        using var response = await Call(() => client.GetObjectAsync(new GetObjectRequest
                        {
                            BucketName = bucket,
                            Key = key,
                            ByteRange = new ByteRange(offset, end),
                            EtagToMatch = etag, // every range of the same version of the object
                        }, ct), key).ConfigureAwait(false);
                        await CopyAsync(response.ResponseStream, async (buffer, c) =>
                        {
                            await RandomAccess.WriteAsync(handle, buffer, offset, c).ConfigureAwait(false);
                            offset += buffer.Length;
                        }, read =>
                        {
                            if (progress is not null)
                            {
                                lock (file)
                                {
                                    done += read;
                                    progress.Report((done, size)); // under the lock: reports never go backwards
                                }
                            }
                        }, ct).ConfigureAwait(false);
                        if (offset != end + 1)
                        {
                            throw new IOException($"s3://{bucket}/{key}: the range {start}-{end} ended after {offset - start} bytes.");
                        }

                        break;
                    }
                    catch (Exception ex) when (attempt < RangeAttempts && !ct.IsCancellationRequested
                        && ((ex is IOException && ex is not FileNotFoundException) || (ex is MlflowException m && Transience.IsTransient(m))))
                    {
                        // A connection lost mid-range (or a transient answer): resume the range where it stopped, as boto3 retries a stream.
                        await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), ct).ConfigureAwait(false);
                    }
                }
            }).ConfigureAwait(false);
        file.Seek(size, SeekOrigin.Begin);
    }

    private static async Task CopyAsync(Stream source, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, Action<int> copied, CancellationToken cancellationToken)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false)) > 0)
            {
                await write(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                copied(read);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async Task DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var response = await Call(() => client.DeleteObjectsAsync(new DeleteObjectsRequest
        {
            BucketName = bucket,
            Objects = [.. keys.Select(k => new KeyVersion { Key = k })],
            Quiet = true,
        }, cancellationToken), keys[0]).ConfigureAwait(false);
        if (response.DeleteErrors is { Count: > 0 } errors)
        {
            var denied = errors[0].Code == "AccessDenied";
            throw new MlflowException(denied ? 403 : 500, denied ? MlflowErrorCodes.PermissionDenied : MlflowErrorCodes.InternalError,
                $"S3 refused to delete {errors.Count} of {keys.Count} objects in bucket '{bucket}', first '{errors[0].Key}': {errors[0].Code} {errors[0].Message}");
        }
    }

    /// <summary>S3's answers as the rest of the SDK states them: a missing key is <see cref="FileNotFoundException"/>; others an <see cref="MlflowException"/> with the status, transient for 5xx/429/throttling and network failures.</summary>
    private async Task<T> Call<T>(Func<Task<T>> call, string key)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound && ex.ErrorCode is "NoSuchKey" or "NotFound" or null)
        {
            throw new FileNotFoundException($"s3://{bucket}/{key} does not exist.", key, ex);
        }
        catch (AmazonS3Exception ex)
        {
            var status = (int)ex.StatusCode;
            var code = status == 404 ? MlflowErrorCodes.ResourceDoesNotExist
                : status is 401 or 403 ? MlflowErrorCodes.PermissionDenied
                : status is 429 or >= 500 || ex.ErrorCode is "SlowDown" or "RequestTimeout" ? MlflowErrorCodes.TemporarilyUnavailable
                : MlflowErrorCodes.InvalidParameterValue;
            throw new MlflowException(status, code, $"S3 {ex.ErrorCode ?? status.ToString(System.Globalization.CultureInfo.InvariantCulture)} for s3://{bucket}/{key}: {ex.Message}", ex);
        }
        catch (AmazonServiceException ex) when (ex.InnerException is HttpRequestException or IOException or System.Net.Sockets.SocketException)
        {
            throw new MlflowException(0, MlflowErrorCodes.TemporarilyUnavailable, $"The S3 endpoint for s3://{bucket}/{key} is unreachable: {ex.InnerException.Message}", ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException || (ex is IOException && ex is not FileNotFoundException))
        {
            // AWSSDK v4 rethrows the transport's own exception once its retries are spent
            throw new MlflowException(0, MlflowErrorCodes.TemporarilyUnavailable, $"The S3 endpoint for s3://{bucket}/{key} is unreachable: {ex.Message}", ex);
        }
    }
}

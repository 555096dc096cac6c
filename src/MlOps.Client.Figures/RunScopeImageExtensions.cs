using System.Globalization;
using System.Text.RegularExpressions;
using SkiaSharp;

namespace MlOps.Client.Tracking;

/// <summary>
/// Logging images as Python's <c>mlflow.log_image</c> does: as one artifact file, or as a step of an image series under
/// a key — which MLflow's UI shows as the run's image grid with a step slider.
/// </summary>
public static partial class RunScopeImageExtensions
{
    /// <summary>The longest side of the preview MLflow's UI loads (Python's <c>COMPRESSED_IMAGE_SIZE</c>).</summary>
    internal const int CompressedImageSize = 256;

    /// <summary>Logs <paramref name="image"/> as the artifact <paramref name="artifactFile"/> (Python's <c>log_image(image, artifact_file)</c>); the run end waits for the upload.</summary>
    /// <param name="run">The run.</param>
    /// <param name="image">The image; it is encoded before this method returns, so it may be disposed at once.</param>
    /// <param name="artifactFile">The run-relative file, e.g. <c>samples/digit.png</c>; the format follows its extension (<c>.png</c>, <c>.jpg</c>/<c>.jpeg</c>, <c>.webp</c>).</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <exception cref="ArgumentException">The extension names no format this method writes.</exception>
    public static Task LogImageAsync(this RunScope run, SKImage image, string artifactFile, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(image);
        ArgumentException.ThrowIfNullOrWhiteSpace(artifactFile);
        var format = Path.GetExtension(artifactFile).ToLowerInvariant() switch
        {
            ".png" => SKEncodedImageFormat.Png,
            ".jpg" or ".jpeg" => SKEncodedImageFormat.Jpeg,
            ".webp" => SKEncodedImageFormat.Webp,
            _ => throw new ArgumentException($"artifactFile '{artifactFile}' must end in .png, .jpg, .jpeg or .webp (the image format follows the extension).", nameof(artifactFile)),
        };
        return RunScopeArtifactExtensions.LogBytesAsync(run, Encode(image, format), artifactFile, cancellationToken);
    }

    /// <summary>
    /// Logs <paramref name="image"/> as step <paramref name="step"/> of the image series <paramref name="key"/> (Python's
    /// <c>log_image(image, key=…, step=…)</c>): the full image as <c>images/{key}%step%{step}%timestamp%{ms}%{uuid}.png</c>, a
    /// preview scaled to 256 pixels on its longest side beside it as <c>…%compressed.webp</c>, and the run tag
    /// <c>mlflow.loggedImages</c> = <c>True</c>, so that MLflow's UI shows the series. The run end waits for the uploads.
    /// </summary>
    /// <param name="run">The run.</param>
    /// <param name="image">The image; it is encoded before this method returns, so it may be disposed at once.</param>
    /// <param name="key">The series: letters, digits, <c>_ - . /</c> and spaces (a <c>/</c> becomes <c>#</c> in the file name, as in Python).</param>
    /// <param name="step">The step.</param>
    /// <param name="timestamp">When; now when not given.</param>
    /// <param name="cancellationToken">Cancels the uploads.</param>
    /// <exception cref="ArgumentException"><paramref name="key"/> has another character.</exception>
    public static Task LogImageAsync(this RunScope run, SKImage image, string key, long step, DateTimeOffset? timestamp = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(key);
        if (!ImageKey().IsMatch(key))
        {
            throw new ArgumentException(
                $"The key may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/). The provided key '{key}' contains invalid characters.",
                nameof(key));
        }

        var milliseconds = timestamp?.ToUnixTimeMilliseconds() ?? run.Tracker.NowMilliseconds();
        var baseName = string.Create(CultureInfo.InvariantCulture, $"images/{key.Replace('/', '#')}%step%{step}%timestamp%{milliseconds}%{FileUuid()}");
        var full = Encode(image, SKEncodedImageFormat.Png);
        byte[] preview;
        using (var small = Compress(image))
        {
            preview = Encode(small, SKEncodedImageFormat.Webp);
        }

        var uploads = Task.WhenAll(
            RunScopeArtifactExtensions.LogBytesAsync(run, full, baseName + ".png", cancellationToken),
            RunScopeArtifactExtensions.LogBytesAsync(run, preview, baseName + "%compressed.webp", cancellationToken));
        run.SetTag(MlflowTags.LoggedImages, "True");
        return uploads;
    }

    /// <summary>Python's <c>compress_image_size</c>: the longest side becomes 256 (smaller images are scaled up too), the other in proportion, truncated.</summary>
    internal static SKImage Compress(SKImage image)
    {
        var (width, height) = image.Width > image.Height
            ? (CompressedImageSize, (int)(image.Height * ((double)CompressedImageSize / image.Width)))
            : ((int)(image.Width * ((double)CompressedImageSize / image.Height)), CompressedImageSize);
        var info = new SKImageInfo(Math.Max(width, 1), Math.Max(height, 1), SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var surface = SKSurface.Create(info) ?? throw new InvalidOperationException($"Could not allocate a {info.Width}x{info.Height} image.");
        using var paint = new SKPaint();
        surface.Canvas.DrawImage(image, new SKRect(0, 0, info.Width, info.Height), new SKSamplingOptions(SKCubicResampler.CatmullRom), paint); // Pillow's bicubic
        return surface.Snapshot();
    }

    private static byte[] Encode(SKImage image, SKEncodedImageFormat format)
    {
        // Pillow's defaults: JPEG quality 75, WebP 80; PNG is lossless.
        using var data = image.Encode(format, format switch { SKEncodedImageFormat.Jpeg => 75, SKEncodedImageFormat.Webp => 80, _ => 100 })
            ?? throw new InvalidOperationException($"The image ({image.Width}x{image.Height}, {image.ColorType}) could not be encoded as {format}.");
        return data.ToArray();
    }

    /// <summary>A uuid4 whose first character is a letter from g to z, as Python writes it (a name that cannot start with hex digits).</summary>
    private static string FileUuid()
    {
        const string letters = "ghijklmnopqrstuvwxyz";
        return letters[Random.Shared.Next(letters.Length)] + Guid.NewGuid().ToString("D")[1..];
    }

    [GeneratedRegex(@"^[a-zA-Z0-9_\-./ ]+$")]
    private static partial Regex ImageKey();
}

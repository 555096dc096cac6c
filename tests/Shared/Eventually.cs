using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace MlOps.Client.Testing;

/// <summary>
/// The tests' one way to wait for a condition, always with a cap that fails the test: on a fake clock (advanced in
/// steps, with a real yield between them so that background loops run), or on real time for what a fake clock cannot
/// drive (a socket, another process).
/// </summary>
internal static class Eventually
{
    /// <summary>Advances <paramref name="time"/> by <paramref name="step"/> until <paramref name="condition"/> holds; fails after <paramref name="steps"/> steps, saying <paramref name="what"/> (and <paramref name="state"/>, read only then).</summary>
    public static async Task OnFakeClockAsync(FakeTimeProvider time, Func<bool> condition, string what, TimeSpan? step = null, int steps = 3000, Func<string>? state = null)
    {
        for (var i = 0; i < steps && !condition(); i++)
        {
            time.Advance(step ?? TimeSpan.FromMilliseconds(100));
            await Task.Delay(2);
        }

        if (!condition())
        {
            Assert.Fail($"{what} (after {steps} steps of the fake clock) {state?.Invoke()}".TrimEnd());
        }
    }

    /// <summary>Waits on real time for <paramref name="condition"/>, polling every <paramref name="poll"/> (5 ms); fails after <paramref name="cap"/> (30 s).</summary>
    public static async Task OnRealTimeAsync(Func<bool> condition, string what, TimeSpan? cap = null, TimeSpan? poll = null)
    {
        var watch = Stopwatch.StartNew();
        while (!condition() && watch.Elapsed < (cap ?? TimeSpan.FromSeconds(30)))
        {
            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(5));
        }

        Assert.True(condition(), $"{what} (waited {watch.Elapsed.TotalSeconds:0.#} s)");
    }
}

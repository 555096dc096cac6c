using Microsoft.Extensions.Time.Testing;

namespace MlOps.Client.Testing;

/// <summary>Drives a <see cref="FakeTimeProvider"/> until a task completes — with a cap that fails the test instead of hanging it.</summary>
internal static class FakeClock
{
    /// <summary>Advances <paramref name="time"/> by <paramref name="step"/> (default 1 s) until <paramref name="task"/> completes; fails after <paramref name="maxSteps"/> steps.</summary>
    public static async Task AdvanceUntilAsync(this FakeTimeProvider time, Task task, TimeSpan? step = null, int maxSteps = 10_000)
    {
        for (var i = 0; i < maxSteps && !task.IsCompleted; i++)
        {
            await Task.Delay(5); // real I/O (a local HTTP exchange) gets its moment between two steps
            if (!task.IsCompleted)
            {
                time.Advance(step ?? TimeSpan.FromSeconds(1));
            }
        }

        Assert.True(task.IsCompleted, $"still not done after {maxSteps} fake-clock steps");
    }
}

using Microsoft.Extensions.Time.Testing;

namespace MlOps.Client.Serving.Tests;

/// <summary>The bytes of request bodies held at once: first come, first served; nothing leaks on any way out.</summary>
public sealed class BodyBudgetTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    [Fact]
    public async Task Bodies_wait_their_turn_in_order_and_small_ones_pass_while_room_is_left()
    {
        var budget = new BodyBudget(16, _time);
        Assert.True(await budget.ReserveAsync(10, TimeSpan.FromSeconds(30), CancellationToken.None));
        var second = budget.ReserveAsync(10, TimeSpan.FromSeconds(30), CancellationToken.None).AsTask();
        var third = budget.ReserveAsync(2, TimeSpan.FromSeconds(30), CancellationToken.None).AsTask();
        Assert.False(second.IsCompleted);
        Assert.False(third.IsCompleted); // behind the second in line, although it would fit
        budget.Release(10);
        Assert.True(await second.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(await third.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(12, budget.Used);
        budget.Release(10);
        budget.Release(2);
        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public async Task A_wait_that_times_out_or_is_cancelled_holds_nothing_and_lets_the_line_move_on()
    {
        var budget = new BodyBudget(16, _time);
        Assert.True(await budget.ReserveAsync(16, TimeSpan.FromSeconds(30), CancellationToken.None));
        var timesOut = budget.ReserveAsync(8, TimeSpan.FromSeconds(5), CancellationToken.None).AsTask();
        using var cancel = new CancellationTokenSource();
        var cancelled = budget.ReserveAsync(8, TimeSpan.FromSeconds(30), cancel.Token).AsTask();
        var last = budget.ReserveAsync(8, TimeSpan.FromSeconds(60), CancellationToken.None).AsTask();
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.False(await timesOut.WaitAsync(TimeSpan.FromSeconds(10))); // answered 503 by the caller
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(16, budget.Used);
        budget.Release(16);
        Assert.True(await last.WaitAsync(TimeSpan.FromSeconds(10))); // the two that left did not keep their place
        Assert.Equal(8, budget.Used);
        budget.Release(8);
        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public async Task A_body_larger_than_the_budget_takes_all_of_it_rather_than_waiting_forever()
    {
        var budget = new BodyBudget(16, _time);
        Assert.True(await budget.ReserveAsync(64, TimeSpan.FromSeconds(1), CancellationToken.None));
        Assert.Equal(16, budget.Used);
        budget.Release(64);
        Assert.Equal(0, budget.Used);
    }
}

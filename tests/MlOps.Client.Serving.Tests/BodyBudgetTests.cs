using Microsoft.Extensions.Time.Testing;

namespace MlOps.Client.Serving.Tests;

/// <summary>The bytes of request bodies held at once: first come, first served; growing bodies never wait for each other; nothing leaks on any way out.</summary>
public sealed class BodyBudgetTests
{
    private static readonly TimeSpan Cap = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    [Fact]
    public async Task Bodies_wait_their_turn_in_order_and_small_ones_pass_while_room_is_left()
    {
        var budget = new BodyBudget(16, _time);
        var first = await budget.ReserveAsync(10, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.NotNull(first);
        var second = budget.ReserveAsync(10, TimeSpan.FromSeconds(30), CancellationToken.None).AsTask();
        var third = budget.ReserveAsync(2, TimeSpan.FromSeconds(30), CancellationToken.None).AsTask();
        Assert.False(second.IsCompleted);
        Assert.False(third.IsCompleted); // behind the second in line, although it would fit
        first.Dispose();
        using var s = await second.WaitAsync(Cap);
        using var t = await third.WaitAsync(Cap);
        Assert.NotNull(s);
        Assert.NotNull(t);
        Assert.Equal(12, budget.Used);
        s!.Dispose();
        t!.Dispose();
        t.Dispose(); // once only
        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public async Task A_wait_that_times_out_or_is_cancelled_holds_nothing_and_lets_the_line_move_on()
    {
        var budget = new BodyBudget(16, _time);
        var all = await budget.ReserveAsync(16, TimeSpan.FromSeconds(30), CancellationToken.None);
        var timesOut = budget.ReserveAsync(8, TimeSpan.FromSeconds(5), CancellationToken.None).AsTask();
        using var cancel = new CancellationTokenSource();
        var cancelled = budget.ReserveAsync(8, TimeSpan.FromSeconds(30), cancel.Token).AsTask();
        var last = budget.ReserveAsync(8, TimeSpan.FromSeconds(60), CancellationToken.None).AsTask();
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.Null(await timesOut.WaitAsync(Cap)); // answered 503 by the caller
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Cap));
        Assert.Equal(16, budget.Used);
        all!.Dispose();
        using var l = await last.WaitAsync(Cap); // the two that left did not keep their place
        Assert.NotNull(l);
        Assert.Equal(8, budget.Used);
        l!.Dispose();
        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public async Task A_body_larger_than_the_budget_takes_all_of_it_rather_than_waiting_forever()
    {
        var budget = new BodyBudget(16, _time);
        var lease = await budget.ReserveAsync(64, TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.Equal(16, budget.Used);
        lease!.Dispose();
        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public async Task Two_growing_bodies_never_wait_for_each_other_the_oldest_grows_at_once()
    {
        // Two chunked bodies each hold half and both need more: without the rule, each waits for the other until the
        // wait runs out (503 for both). The oldest grows past the capacity by its own growth, finishes and gives all back.
        var budget = new BodyBudget(16, _time);
        var older = await budget.ReserveAsync(8, TimeSpan.FromSeconds(30), CancellationToken.None);
        var younger = await budget.ReserveAsync(8, TimeSpan.FromSeconds(30), CancellationToken.None);
        var youngerGrows = younger!.GrowAsync(8, TimeSpan.FromSeconds(30), CancellationToken.None).AsTask();
        Assert.False(youngerGrows.IsCompleted);
        var newBody = budget.ReserveAsync(1, TimeSpan.FromSeconds(30), CancellationToken.None).AsTask();
        Assert.True(await older!.GrowAsync(8, TimeSpan.FromSeconds(30), CancellationToken.None).AsTask().WaitAsync(Cap)); // at once
        Assert.Equal(24, budget.Used);
        older.Dispose();
        Assert.True(await youngerGrows.WaitAsync(Cap)); // now the oldest: its growth goes first
        Assert.False(newBody.IsCompleted); // new bodies wait while a growth waits, and behind the growth
        Assert.Equal(16, budget.Used);
        younger.Dispose();
        using var n = await newBody.WaitAsync(Cap);
        Assert.Equal(1, budget.Used);
    }

    [Fact]
    public async Task A_growth_whose_wait_runs_out_gives_back_only_the_growth_when_disposed_everything()
    {
        var budget = new BodyBudget(16, _time);
        var older = await budget.ReserveAsync(12, TimeSpan.FromSeconds(30), CancellationToken.None);
        var younger = await budget.ReserveAsync(4, TimeSpan.FromSeconds(30), CancellationToken.None);
        var grows = younger!.GrowAsync(8, TimeSpan.FromSeconds(5), CancellationToken.None).AsTask();
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.False(await grows.WaitAsync(Cap));
        Assert.Equal(16, budget.Used);
        younger.Dispose();
        older!.Dispose();
        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public async Task An_invalid_wait_is_refused_before_anything_is_queued()
    {
        var budget = new BodyBudget(16, _time);
        using var all = await budget.ReserveAsync(16, TimeSpan.FromSeconds(30), CancellationToken.None);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => budget.ReserveAsync(8, TimeSpan.MaxValue, CancellationToken.None).AsTask());
        all!.Dispose();
        using var next = await budget.ReserveAsync(16, TimeSpan.Zero, CancellationToken.None); // nothing was left queued
        Assert.NotNull(next);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ScoringOptions { InFlightBodyWait = TimeSpan.MaxValue });
        Assert.Equal(Timeout.InfiniteTimeSpan, new ScoringOptions { InFlightBodyWait = Timeout.InfiniteTimeSpan }.InFlightBodyWait);
    }
}

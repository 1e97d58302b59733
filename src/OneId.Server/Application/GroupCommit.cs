using System.Threading.Channels;

namespace OneId.Server.Application;

/// <summary>
/// Group commit: concurrent requests hand their writes to one loop that applies whatever has queued up in a single
/// transaction, and each request awaits its own result. A login then pays for a share of a commit instead of a whole
/// one, while the order of writes stays the order of arrival. If a batch fails, its items are retried one by one, so
/// one bad write fails only its own request.
/// </summary>
internal sealed class GroupCommit<TItem, TResult> : IAsyncDisposable
{
    private readonly Channel<(TItem Item, TaskCompletionSource<TResult> Done)> _queue =
        Channel.CreateUnbounded<(TItem, TaskCompletionSource<TResult>)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> _apply;
    private readonly int _maxBatch;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public GroupCommit(Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> apply, int maxBatch = 256)
    {
        _apply = apply;
        _maxBatch = maxBatch;
        _loop = Task.Run(LoopAsync);
    }

    public async Task<TResult> SubmitAsync(TItem item, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _queue.Writer.WriteAsync((item, done), cancellationToken).ConfigureAwait(false);
        // Once queued the write happens even if the caller gives up: it is the graph's truth either way.
        return await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task LoopAsync()
    {
        var batch = new List<(TItem Item, TaskCompletionSource<TResult> Done)>(_maxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < _maxBatch && _queue.Reader.TryRead(out var next))
                {
                    batch.Add(next);
                }
                try
                {
                    var results = await _apply(batch.Select(b => b.Item).ToArray(), _stop.Token).ConfigureAwait(false);
                    for (var i = 0; i < batch.Count; i++)
                    {
                        batch[i].Done.TrySetResult(results[i]);
                    }
                }
                catch (Exception) when (batch.Count > 1)
                {
                    foreach (var (item, done) in batch)
                    {
                        try
                        {
                            done.TrySetResult((await _apply([item], _stop.Token).ConfigureAwait(false))[0]);
                        }
                        catch (Exception e)
                        {
                            done.TrySetException(e);
                        }
                    }
                }
                catch (Exception e)
                {
                    batch[0].Done.TrySetException(e);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        while (_queue.Reader.TryRead(out var left))
        {
            left.Done.TrySetCanceled();
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Let queued writes finish; cancel only a loop that does not drain in time.
        _queue.Writer.TryComplete();
        if (await Task.WhenAny(_loop, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false) != _loop)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}

namespace OneId.Server.Application;

/// <summary>
/// Wakes a background worker as soon as there is work for it, so that it does not wait for its next poll. At most one
/// wake-up is pending: notifying an already signalled worker changes nothing. Each worker has its own subclass, so
/// that each is its own service.
/// </summary>
public abstract class WorkerSignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        try
        {
            if (_signal.CurrentCount == 0)
            {
                _signal.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // already signalled
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => _signal.WaitAsync(timeout, ct);
}

using Npgsql;

namespace OneId.Storage;

/// <summary>
/// PostgreSQL's change signal for one tenant schema, the counterpart of SQLite's <c>PRAGMA data_version</c>: every
/// graph write sends <c>NOTIFY oneid_graph_&lt;schema&gt;</c> in its transaction (delivered when it commits), and one
/// connection per process LISTENs and counts them. A cache may keep a value read while <see cref="Generation"/> stays
/// the same — but only while <see cref="IsListening"/>: without the connection nothing is heard, so callers read
/// every time until it is back, and the generation moves on whenever listening starts or stops, because anything may
/// have changed meanwhile. Writes of this process move it as soon as they return (<see cref="Changed"/>), before
/// their notification comes back. The same connection also LISTENs on <c>oneid_keys_&lt;schema&gt;</c>, which every
/// change to the hub's API keys notifies, and counts those in <see cref="KeysGeneration"/> (the key cache's token), so
/// graph writes do not empty the key cache and a revocation does not empty the person cache. Likewise
/// <c>oneid_rels_&lt;schema&gt;</c>, which every write of follows and contacts notifies, counts in
/// <see cref="RelationshipsGeneration"/> (the relationships cache's token).
/// </summary>
public sealed class PostgresChangeListener : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private Task? _loop;
    private long _generation;
    private long _keysGeneration;
    private long _relationshipsGeneration;
    private volatile bool _listening;

    public PostgresChangeListener(string connectionString, string schema, TimeProvider? time = null)
    {
        Channel = "oneid_graph_" + schema;
        KeysChannel = "oneid_keys_" + schema;
        RelationshipsChannel = "oneid_rels_" + schema;
        // Its own connection outside the pool: it stays open and idle, waiting for notifications.
        _connectionString = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, KeepAlive = 15, ApplicationName = "oneid-listener" }.ConnectionString;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The channel graph writes notify (schema names are lowercase letters, digits and _).</summary>
    public string Channel { get; }

    /// <summary>The channel changes to the hub's API keys notify.</summary>
    public string KeysChannel { get; }

    /// <summary>The channel writes of follows and contacts notify.</summary>
    public string RelationshipsChannel { get; }

    public bool IsListening
    {
        get
        {
            EnsureStarted();
            return _listening;
        }
    }

    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>Something changed (a notification, a write of this process, a lost or regained connection).</summary>
    public void Changed() => Interlocked.Increment(ref _generation);

    /// <summary>Moves on every notification of <see cref="KeysChannel"/>, and whenever listening starts or stops.</summary>
    public long KeysGeneration => Interlocked.Read(ref _keysGeneration);

    /// <summary>The API keys changed (a notification, a key write of this process, a lost or regained connection).</summary>
    public void KeysChanged() => Interlocked.Increment(ref _keysGeneration);

    /// <summary>Moves on every notification of <see cref="RelationshipsChannel"/>, and whenever listening starts or stops.</summary>
    public long RelationshipsGeneration => Interlocked.Read(ref _relationshipsGeneration);

    /// <summary>Follows or contacts changed (a notification, a write of this process, a lost or regained connection).</summary>
    public void RelationshipsChanged() => Interlocked.Increment(ref _relationshipsGeneration);

    private void Everything()
    {
        Changed();
        KeysChanged();
        RelationshipsChanged();
    }

    private void EnsureStarted()
    {
        if (_loop is not null)
        {
            return;
        }
        lock (_gate)
        {
            _loop ??= Task.Run(() => ListenAsync(_stop.Token));
        }
    }

    private async Task ListenAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(_connectionString);
                await connection.OpenAsync(stop).ConfigureAwait(false);
                connection.Notification += (_, e) =>
                {
                    if (e.Channel == KeysChannel)
                    {
                        KeysChanged();
                    }
                    else if (e.Channel == RelationshipsChannel)
                    {
                        RelationshipsChanged();
                    }
                    else
                    {
                        Changed();
                    }
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}; LISTEN {KeysChannel}; LISTEN {RelationshipsChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stop).ConfigureAwait(false);
                }
                Everything();
                _listening = true;
                while (true)
                {
                    await connection.WaitAsync(stop).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or InvalidOperationException or TimeoutException)
            {
                // The server went away or restarted: readers fall back to reading every time until we are back.
            }
            finally
            {
                _listening = false;
                Everything();
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is { } loop)
        {
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        _stop.Dispose();
    }
}

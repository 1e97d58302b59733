using Microsoft.Extensions.Logging;
using OneId.Graph;
using OneId.Server.Tenants;
using OneId.Server.Webhooks;

namespace OneId.Server.Application;

/// <summary>
/// The one way the hub writes the graph: observations built by the flows, applied by the tenant's graph store, and the
/// webhooks woken when something changed. Concurrent single writes of one tenant share transactions (group commit);
/// pages of a backfill go as one batch.
/// </summary>
public sealed partial class GraphWriter(WebhookSignal signal, FollowUpSignal followUps, TimeProvider time, ILogger<GraphWriter> logger) : IAsyncDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<GroupCommit<Observation, ObserveResult>>> _writers = new(StringComparer.Ordinal);

    // The tenant's graph applies a group in arrival order.
    private GroupCommit<Observation, ObserveResult> Writer(HubTenant tenant) =>
        _writers.GetOrAdd(tenant.Name, _ => new Lazy<GroupCommit<Observation, ObserveResult>>(() =>
            new GroupCommit<Observation, ObserveResult>((batch, ct) => tenant.Graph.ObserveManyAsync(batch, ct)))).Value;

    /// <summary>Observes <paramref name="identifiers"/> (nulls skipped) together, now, from <paramref name="source"/>.</summary>
    public Task<ObserveResult> RecordAsync(HubTenant tenant, string source, IEnumerable<Identifier?> identifiers, IEnumerable<ProfileAttribute>? profile, CancellationToken cancellationToken) =>
        RecordAsync(tenant, source, identifiers, profile, null, cancellationToken);

    /// <summary>As <see cref="RecordAsync(HubTenant, string, IEnumerable{Identifier?}, IEnumerable{ProfileAttribute}?, CancellationToken)"/>, committing <paramref name="attachment"/> with the observation.</summary>
    public Task<ObserveResult> RecordAsync(HubTenant tenant, string source, IEnumerable<Identifier?> identifiers, IEnumerable<ProfileAttribute>? profile,
        ObservationAttachment? attachment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identifiers);
        var ids = identifiers.Where(i => i is not null).Select(i => i!.Value).ToArray();
        return SubmitAsync(tenant, new Observation(ids, source, time.GetUtcNow(), profile) { Attachment = attachment }, cancellationToken);
    }

    /// <summary>Observes <paramref name="identifiers"/> together, now, saying that each replacement's new id replaces its old one (docs/model.md §3.9).</summary>
    public Task<ObserveResult> RecordReplacingAsync(HubTenant tenant, string source, IReadOnlyList<Identifier> identifiers, IReadOnlyList<Replacement> replacements, CancellationToken cancellationToken) =>
        SubmitAsync(tenant, new Observation(identifiers, source, time.GetUtcNow(), null, replacements), cancellationToken);

    private async Task<ObserveResult> SubmitAsync(HubTenant tenant, Observation observation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var result = await Writer(tenant).SubmitAsync(observation, cancellationToken).ConfigureAwait(false);
        LogObserved(logger, tenant.Name, observation.Source, result.Outcome, result.Person?.ToString());
        Written(tenant, [result]);
        return result;
    }

    /// <summary>Applies a page of observations in one transaction, in order (backfills, the operator API's batches).</summary>
    public async Task<IReadOnlyList<ObserveResult>> RecordPageAsync(HubTenant tenant, IReadOnlyList<Observation> observations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var results = await tenant.Graph.ObserveManyAsync(observations, cancellationToken).ConfigureAwait(false);
        Written(tenant, results);
        return results;
    }

    // Whatever wrote the graph: count it, and wake the webhooks and follow-ups when something changed.
    private void Written(HubTenant tenant, IReadOnlyList<ObserveResult> results)
    {
        Observability.HubMetrics.Observed(tenant.Name, results);
        if (results.Any(r => r.Events.Count > 0))
        {
            signal.Notify();
            followUps.Notify();
        }
    }

    public DateTimeOffset Now => time.GetUtcNow();

    public async ValueTask DisposeAsync()
    {
        foreach (var writer in _writers.Values.Where(w => w.IsValueCreated))
        {
            await writer.Value.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "{Tenant}: {Source} → {Outcome} {Person}")]
    private static partial void LogObserved(ILogger logger, string tenant, string source, ObserveOutcome outcome, string? person);
}

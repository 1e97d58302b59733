using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using OneId.Graph;

namespace OneId.Server.Observability;

/// <summary>
/// OneId's own meter (<see cref="MeterName"/>): what the graph did, how far the workers are behind. Counters are
/// added where the work happens; the gauges read the last value the workers saw, so a scrape never queries the
/// database. Every instrument is tagged with the tenant.
/// </summary>
public static class HubMetrics
{
    public const string MeterName = "OneId";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Observations = Meter.CreateCounter<long>("oneid.observations", "{observation}", "Observations applied, by outcome (accepted, rejected, weak_only)");
    private static readonly Counter<long> Merges = Meter.CreateCounter<long>("oneid.merges", "{merge}", "Persons merged into another");
    private static readonly Counter<long> Conflicts = Meter.CreateCounter<long>("oneid.conflicts", "{conflict}", "Observations rejected as conflicts");
    private static readonly Histogram<double> InboxDelay = Meter.CreateHistogram<double>("oneid.inbox.delay", "s", "From a push's arrival to the end of its processing");

    private static readonly ConcurrentDictionary<string, (long Pending, double OldestSeconds)> Inbox = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<(string Tenant, int Webhook), long> WebhookLag = new();

    static HubMetrics()
    {
        Meter.CreateObservableGauge("oneid.inbox.depth", () => Inbox.Select(x => new Measurement<long>(x.Value.Pending, Tenant(x.Key))), "{push}", "Pushes waiting in the inbox");
        Meter.CreateObservableGauge("oneid.inbox.age", () => Inbox.Select(x => new Measurement<double>(x.Value.OldestSeconds, Tenant(x.Key))), "s", "Age of the oldest waiting push");
        Meter.CreateObservableGauge("oneid.followup.lag", () => Application.FollowUpWorker.Lag.Select(x => new Measurement<long>(x.Value, Tenant(x.Key))), "{event}", "Graph events the follow-ups have not reached");
        Meter.CreateObservableGauge("oneid.webhook.lag", () => WebhookLag.Select(x => new Measurement<long>(x.Value, Tenant(x.Key.Tenant), new("webhook", x.Key.Webhook))), "{event}", "Graph events a webhook has not been sent");
    }

    private static KeyValuePair<string, object?> Tenant(string name) => new("tenant", name);

    /// <summary>Counts what a write of observations did.</summary>
    public static void Observed(string tenant, IEnumerable<ObserveResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        foreach (var r in results.Where(r => !r.AlreadyApplied))
        {
            Observations.Add(1, Tenant(tenant), new("outcome", r.Outcome switch
            {
                ObserveOutcome.Accepted => "accepted",
                ObserveOutcome.Rejected => "rejected",
                ObserveOutcome.LinkedNothing => "weak_only",
                var other => other.ToString().ToLowerInvariant(),
            }));
            var merged = r.Events.Count(e => e.Kind == GraphEventKind.Merged);
            if (merged > 0)
            {
                Merges.Add(merged, Tenant(tenant));
            }
            if (r.Outcome == ObserveOutcome.Rejected)
            {
                Conflicts.Add(1, Tenant(tenant));
            }
        }
    }

    public static void InboxProcessed(string tenant, TimeSpan sinceArrival) => InboxDelay.Record(sinceArrival.TotalSeconds, Tenant(tenant));

    public static void InboxState(string tenant, long pending, TimeSpan oldest) => Inbox[tenant] = (pending, Math.Max(0, oldest.TotalSeconds));

    public static void WebhookBehind(string tenant, int webhook, long events) => WebhookLag[(tenant, webhook)] = Math.Max(0, events);
}

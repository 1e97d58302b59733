using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace OneId.Cli.Bench;

/// <summary>
/// Where a paced phase's slow requests spent their time, seen from the hub's process: how long the hub itself took
/// over each request (ASP.NET Core's <c>http.server.request.duration</c>, from the request's headers read to its
/// response written) and each pause of this process's garbage collector (the runtime's GCSuspendEEBegin and
/// GCRestartEEEnd events). A client-side p99 far above both is time spent before the hub read the request or after it
/// wrote the answer: sockets, the client's own process and the OS run queue. It also keeps the runtime's allocation
/// samples (GCAllocationTick, one about every 100 KB allocated, naming the type) to say what the collections are for.
/// </summary>
internal sealed class HubLatencyRecorder : IDisposable
{
    private readonly MeterListener _meters = new();
    private readonly RuntimeGcListener _gc = new();
    private readonly List<double> _serverMs = [];

    public HubLatencyRecorder()
    {
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument is { Meter.Name: "Microsoft.AspNetCore.Hosting", Name: "http.server.request.duration" })
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<double>((_, seconds, _, _) =>
        {
            lock (_serverMs)
            {
                _serverMs.Add(seconds * 1000);
            }
        });
        _meters.Start();
    }

    public HubLatency Stop()
    {
        _meters.Dispose();
        double[] server;
        lock (_serverMs)
        {
            server = [.. _serverMs];
        }
        Array.Sort(server);
        var pauses = _gc.Pauses();
        return new HubLatency(server.Length, LoadRunner.Percentile(server, 0.50), LoadRunner.Percentile(server, 0.99), server.Length == 0 ? 0 : server[^1],
            server.Count(ms => ms > 5), pauses.Length, pauses.Length == 0 ? 0 : pauses.Max(), _gc.TopAllocations(8));
    }

    public void Dispose()
    {
        _meters.Dispose();
        _gc.Dispose();
    }

    /// <summary>
    /// The runtime's GC events of this process: each pause from suspending the threads to resuming them, and the
    /// allocation samples by type.
    /// </summary>
    private sealed class RuntimeGcListener : EventListener
    {
        private const EventKeywords GcKeyword = (EventKeywords)0x1;
        private readonly Lock _gate = new();
        private readonly List<double> _pauses = [];
        private readonly Dictionary<string, long> _allocatedByType = new(StringComparer.Ordinal);
        private DateTime? _suspended;

        // EventListener calls this from its base constructor for the sources that exist already, before this class's
        // fields are set: nothing here may touch them.
        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                // Verbose: the allocation samples are verbose events of the GC keyword.
                EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            switch (eventData.EventName)
            {
                case "GCSuspendEEBegin_V1":
                    _suspended = eventData.TimeStamp;
                    break;
                case "GCRestartEEEnd_V1" when _suspended is { } begun:
                    lock (_gate)
                    {
                        _pauses.Add((eventData.TimeStamp - begun).TotalMilliseconds);
                    }
                    _suspended = null;
                    break;
                case "GCAllocationTick_V4" when eventData.PayloadNames is { } names:
                    var type = eventData.Payload![names.IndexOf("TypeName")] as string ?? "?";
                    var amount = Convert.ToInt64(eventData.Payload[names.IndexOf("AllocationAmount64")], CultureInfo.InvariantCulture);
                    lock (_gate)
                    {
                        _allocatedByType[type] = _allocatedByType.GetValueOrDefault(type) + amount;
                    }
                    break;
            }
        }

        /// <summary>The types most allocated (by sampled bytes) and each one's share of the samples.</summary>
        public IReadOnlyList<(string Type, double Share)> TopAllocations(int count)
        {
            lock (_gate)
            {
                var total = (double)_allocatedByType.Values.Sum();
                return _allocatedByType.OrderByDescending(t => t.Value).Take(count).Select(t => (t.Key, t.Value / total)).ToArray();
            }
        }

        public double[] Pauses()
        {
            lock (_gate)
            {
                return [.. _pauses];
            }
        }
    }
}

/// <summary>What <see cref="HubLatencyRecorder"/> saw: the hub's own time per request and its collector's pauses.</summary>
internal sealed record HubLatency(int Requests, double P50Ms, double P99Ms, double MaxMs, int Over5Ms, int GcPauses, double LongestGcPauseMs,
    IReadOnlyList<(string Type, double Share)> TopAllocations)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"the hub's own time a request (ASP.NET Core's request duration, {Requests} requests): p50 {P50Ms:F2} ms, p99 {P99Ms:F2} ms, longest {MaxMs:F1} ms, {Over5Ms} over 5 ms; {GcPauses} GC pauses, the longest {LongestGcPauseMs:F1} ms");

    /// <summary>The sampled allocations, most first: <c>type 23%, type 11%, …</c>.</summary>
    public string AllocationText => string.Join(", ", TopAllocations.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Type} {t.Share:P0}")));
}

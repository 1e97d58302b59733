using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OneId.Server.Configuration;
using OneId.WeChat.Http;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace OneId.Server.Observability;

public static class TelemetryExtensions
{
    /// <summary>
    /// Traces and metrics over OTLP when <c>telemetry.otlp_endpoint</c> is configured: ASP.NET Core requests, HttpClient
    /// calls (WeChat, webhooks), Npgsql commands, and OneId's own meters (<see cref="HubMetrics"/>, <see cref="WeChatMetrics"/>).
    /// Without an endpoint nothing is registered, so requests pay for no activities; the meters still exist for
    /// <c>dotnet-counters monitor --counters OneId,OneId.WeChat</c>.
    /// </summary>
    public static IHostApplicationBuilder AddOneIdTelemetry(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // Read from configuration (oneid.json, ONEID_TELEMETRY__OTLP_ENDPOINT) before the container is built, since it
        // decides what is registered; the options validation reads the same section and reports a malformed URL.
        var options = new TelemetryOptions();
        builder.Configuration.GetSection("telemetry").Bind(options);
        if (string.IsNullOrWhiteSpace(options.OtlpEndpoint) || !Uri.TryCreate(options.OtlpEndpoint, UriKind.Absolute, out var endpoint))
        {
            return builder; // a malformed endpoint is reported by the options validation
        }
        void Otlp(OtlpExporterOptions o, string signal)
        {
            o.Protocol = OtlpExportProtocol.HttpProtobuf;
            o.Endpoint = new Uri(endpoint, endpoint.AbsolutePath.TrimEnd('/') + "/v1/" + signal);
        }
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(options.ServiceName))
            .WithTracing(t => t
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddSource("Npgsql")
                .AddOtlpExporter(o => Otlp(o, "traces")))
            .WithMetrics(m => m
                .AddMeter(HubMetrics.MeterName, WeChatMetrics.MeterName, "Npgsql")
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddOtlpExporter((o, reader) =>
                {
                    Otlp(o, "metrics");
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = Math.Max(1000, options.MetricsIntervalMilliseconds);
                }));
        return builder;
    }
}

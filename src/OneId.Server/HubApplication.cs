using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using OneId.Server.Api;
using Microsoft.Extensions.Logging;
using OneId.Server.Configuration;

namespace OneId.Server;

/// <summary>How to start a hub: where its configuration is and what to override (used by <c>oneid serve</c>, the demo and tests).</summary>
public sealed class HubLaunch
{
    /// <summary>oneid.json; optional when everything comes from <see cref="Configure"/> or ONEID_* variables.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>--db: overrides <c>database</c>.</summary>
    public string? Database { get; init; }

    /// <summary>Kestrel URLs, e.g. http://127.0.0.1:0 for a free loopback port.</summary>
    public IReadOnlyList<string> Urls { get; init; } = ["http://127.0.0.1:5080"];

    public Action<HubOptions>? Configure { get; init; }

    public LogLevel MinimumLogLevel { get; init; } = LogLevel.Information;

    /// <summary>Extra service registrations (tests replace the TimeProvider or an HttpClient handler here).</summary>
    public Action<WebApplicationBuilder>? ConfigureBuilder { get; init; }
}

/// <summary>The hub's Program, as a method, so that the CLI, the demo and the tests start exactly the same application.</summary>
public static class HubApplication
{
    public const long MaxRequestBytes = 1024 * 1024;

    public static WebApplication Build(HubLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "OneId.Server" });
        if (launch.ConfigFile is { } file)
        {
            builder.Configuration.AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false);
        }
        builder.Configuration.AddEnvironmentVariables("ONEID_");
        if (launch.Database is { } db)
        {
            builder.Configuration["database"] = db;
        }
        // Quiet defaults for the framework's chatty categories, as the lowest-precedence configuration source: any
        // category's level can be set with the standard binding, Logging:LogLevel:<category> in oneid.json or
        // ONEID_LOGGING__LOGLEVEL__<category> (a filter added in code would win over configuration).
        var quiet = new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Microsoft.AspNetCore"] = nameof(LogLevel.Warning),
            ["Logging:LogLevel:System.Net.Http"] = nameof(LogLevel.Warning),
        };
        // ASP.NET Core's hosting starts an Activity and a logging scope for every request whenever its diagnostics
        // category is enabled at all, and that Activity makes every outbound HttpClient call (WeChat) start one of its
        // own and send a traceparent header: ~2.3 KB and several percent of a login's CPU. At Warning the category
        // writes nothing (its request lines are Information), so while Microsoft.AspNetCore stays quiet it is off
        // altogether; an operator who asks for Information (or sets the category) gets the lines and the scopes back,
        // and tracing over OTLP (telemetry.otlp_endpoint) gets its activities from its own listener either way.
        const string hosting = "Logging:LogLevel:Microsoft.AspNetCore.Hosting";
        if (builder.Configuration[hosting] is null && builder.Configuration[hosting + ".Diagnostics"] is null
            && Enum.TryParse<LogLevel>(builder.Configuration["Logging:LogLevel:Microsoft.AspNetCore"] ?? nameof(LogLevel.Warning), ignoreCase: true, out var aspNet)
            && aspNet >= LogLevel.Warning)
        {
            quiet[hosting + ".Diagnostics"] = nameof(LogLevel.None);
        }
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = quiet });
        builder.WebHost.UseKestrelCore().UseUrls([.. launch.Urls]);
        builder.WebHost.ConfigureKestrel(k =>
        {
            // No request of this API needs more than a batch of 1,000 ids (~100 KB); WeChat's pushes are a few KB.
            k.Limits.MaxRequestBodySize = MaxRequestBytes;
            // Kestrel answers a request line over its limit itself, with an empty body; the hub's own, lower limit
            // (RequestLimits) answers with ProblemDetails instead.
            k.Limits.MaxRequestLineSize = RequestLimits.KestrelMaxRequestLine;
        });
        builder.Logging.SetMinimumLevel(launch.MinimumLogLevel);
        // Start-up failures are reported by the caller (one line per configuration problem), not as a host stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.AddOneIdHub(launch.Configure);
        launch.ConfigureBuilder?.Invoke(builder);

        var app = builder.Build();
        app.MapOneIdHub();
        return app;
    }
}

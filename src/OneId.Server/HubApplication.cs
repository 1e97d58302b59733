using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
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
        builder.WebHost.UseKestrelCore().UseUrls([.. launch.Urls]);
        // No request of this API needs more than a batch of 1,000 ids (~100 KB); WeChat's pushes are a few KB.
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = MaxRequestBytes);
        builder.Logging.SetMinimumLevel(launch.MinimumLogLevel);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
        // Start-up failures are reported by the caller (one line per configuration problem), not as a host stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.AddOneIdHub(launch.Configure);
        launch.ConfigureBuilder?.Invoke(builder);

        var app = builder.Build();
        app.MapOneIdHub();
        return app;
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.Testing;
using Xunit;

namespace OneId.Server.Tests;

/// <summary>Every 4xx the hub answers carries a ProblemDetails body; log levels come from configuration.</summary>
public sealed class ProblemBodyTests : IAsyncLifetime
{
    private TestHub _hub = null!;

    public async Task InitializeAsync() => _hub = await TestHub.StartAsync();

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    private static async Task ShouldBeProblemAsync(HttpResponseMessage r, HttpStatusCode status)
    {
        r.StatusCode.Should().Be(status);
        r.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        doc.RootElement.GetProperty("status").GetInt32().Should().Be((int)status);
        doc.RootElement.GetProperty("title").GetString().Should().NotBeNullOrWhiteSpace();
    }

    [Fact]
    public async Task Unknown_routes_wrong_methods_and_long_targets_get_problem_details()
    {
        await ShouldBeProblemAsync(await _hub.Client.GetAsync("v1/no-such-route"), HttpStatusCode.NotFound);
        await ShouldBeProblemAsync(await _hub.Client.PostAsync("healthz", null), HttpStatusCode.MethodNotAllowed);
        await ShouldBeProblemAsync(await _hub.Client.GetAsync("v1/resolve?id=" + new string('a', 10_000)), HttpStatusCode.RequestUriTooLong);
    }

    // A percent-encoded NUL (%00) never gets this far: Kestrel refuses it with an empty 400 before any middleware runs.
    [Theory]
    [InlineData("/v1/resolve%01x")]
    [InlineData("/a%7Fb")]
    [InlineData("/%0d%0aSet-Cookie:x=1")]
    public async Task A_control_character_in_the_path_gets_a_400_with_problem_details(string path)
    {
        // Raw HTTP, so that no client library rewrites the target.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(_hub.BaseAddress.Host, _hub.BaseAddress.Port);
        await using var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {_hub.BaseAddress.Authority}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var answer = await reader.ReadToEndAsync();

        answer.Should().StartWith("HTTP/1.1 400");
        answer.Should().Contain("application/problem+json");
        answer[(answer.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..].Should().Contain("\"status\":400");
    }

    [Fact]
    public async Task Any_log_category_level_comes_from_the_standard_logging_configuration()
    {
        using var folder = new TempFolder();
        var config = folder.File("oneid.json");
        File.WriteAllText(config, """{"Logging":{"LogLevel":{"System.Net.Http":"Debug","Microsoft.AspNetCore":"Information"}}}""");
        Environment.SetEnvironmentVariable("ONEID_LOGGING__LOGLEVEL__OneId.Test.Category", "Trace");
        try
        {
            await using var configured = HubApplication.Build(new HubLaunch { ConfigFile = config, Database = folder.File("a.db"), Urls = ["http://127.0.0.1:0"] });
            var loggers = configured.Services.GetRequiredService<ILoggerFactory>();
            loggers.CreateLogger("System.Net.Http.HttpClient.WeChat").IsEnabled(LogLevel.Debug).Should().BeTrue();
            loggers.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Information).Should().BeTrue();
            loggers.CreateLogger("OneId.Test.Category").IsEnabled(LogLevel.Trace).Should().BeTrue();

            await using var quiet = HubApplication.Build(new HubLaunch { Database = folder.File("b.db"), Urls = ["http://127.0.0.1:0"] });
            var defaults = quiet.Services.GetRequiredService<ILoggerFactory>();
            defaults.CreateLogger("System.Net.Http.HttpClient.WeChat").IsEnabled(LogLevel.Information).Should().BeFalse("the framework's categories are quiet by default");
            defaults.CreateLogger("OneId.Server.Anything").IsEnabled(LogLevel.Information).Should().BeTrue();
            defaults.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Critical).Should()
                .BeFalse("while ASP.NET Core is quiet its hosting diagnostics are off, so requests start no Activity and no logging scope");
        }
        finally
        {
            Environment.SetEnvironmentVariable("ONEID_LOGGING__LOGLEVEL__OneId.Test.Category", null);
        }
    }
}

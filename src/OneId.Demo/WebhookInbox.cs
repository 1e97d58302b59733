using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OneId.Server.Configuration;
using OneId.Server.Webhooks;

namespace OneId.DemoWiring;

/// <summary>
/// A stand-in for the company's CRM in the demo: receives the hub's webhooks on loopback, checks each signature and
/// keeps the events in arrival order.
/// </summary>
public sealed class WebhookInbox : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _secret;
    private int _badSignatures;

    private WebhookInbox(WebApplication app, string secret)
    {
        _app = app;
        _secret = secret;
    }

    public ConcurrentQueue<JsonElement> Events { get; } = new();
    public int BadSignatures => _badSignatures;
    public Uri Url => new(_app.Urls.First().TrimEnd('/') + "/events");

    public static async Task<WebhookInbox> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var inbox = new WebhookInbox(app, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)));
        app.MapPost("/events", async (HttpContext http) =>
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted).ConfigureAwait(false);
            var body = buffer.ToArray();
            var expected = Encoding.ASCII.GetBytes(WebhookDispatcher.Sign(inbox._secret, body));
            var received = Encoding.ASCII.GetBytes(http.Request.Headers[WebhookDispatcher.SignatureHeader].ToString());
            if (!CryptographicOperations.FixedTimeEquals(expected, received))
            {
                Interlocked.Increment(ref inbox._badSignatures);
                return Results.StatusCode(StatusCodes.Status401Unauthorized);
            }
            inbox.Events.Enqueue(JsonDocument.Parse(body).RootElement.Clone());
            return Results.Ok();
        });
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return inbox;
    }

    /// <summary>Subscribes this inbox to every person.* event of the first tenant.</summary>
    public void Subscribe(HubOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.WebhookPollMilliseconds = 100;
        options.Tenants[0].Webhooks.Add(new WebhookOptions { Url = Url.AbsoluteUri, Secret = _secret });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}

using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace OneId.Sandbox.Tests.Support;

/// <summary>One POST the receiver got.</summary>
internal sealed record ReceivedPush(string Path, IReadOnlyDictionary<string, string> Query, string Body, DateTimeOffset At);

/// <summary>A loopback Kestrel server standing in for the hub's callback URLs; can fail or stall on purpose.</summary>
internal sealed class PushReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedPush> _received = new();
    private int _failuresLeft;
    private string _failPath = "";

    private PushReceiver(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    /// <summary>Every request, failed ones included.</summary>
    public IReadOnlyList<ReceivedPush> Received => [.. _received];

    /// <summary>The next N requests to <paramref name="path"/> answer HTTP 500.</summary>
    public void FailNext(int count, string path)
    {
        _failPath = path;
        Interlocked.Exchange(ref _failuresLeft, count);
    }

    /// <summary>Requests wait this long before answering.</summary>
    public TimeSpan Stall { get; set; }

    public static async Task<PushReceiver> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        PushReceiver? receiver = null;
        app.MapPost("/{**path}", async (HttpContext http) =>
        {
            using var reader = new StreamReader(http.Request.Body);
            var body = await reader.ReadToEndAsync(http.RequestAborted);
            var query = http.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString());
            receiver!._received.Enqueue(new ReceivedPush(http.Request.Path.Value!.TrimStart('/'), query, body, DateTimeOffset.UtcNow));
            if (receiver.Stall > TimeSpan.Zero)
            {
                await Task.Delay(receiver.Stall, http.RequestAborted);
            }
            var path = http.Request.Path.Value!.TrimStart('/');
            return path == receiver._failPath && Interlocked.Decrement(ref receiver._failuresLeft) >= 0 ? Results.StatusCode(500) : Results.Text("success");
        });
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver = new PushReceiver(app, new Uri(address.TrimEnd('/') + "/"));
        return receiver;
    }

    /// <summary>Waits until a received push matches, or fails the test after the timeout.</summary>
    public async Task<ReceivedPush> WaitForAsync(Func<ReceivedPush, bool> match, TimeSpan? timeout = null, int count = 1)
    {
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (DateTimeOffset.UtcNow < deadline)
        {
            var hits = _received.Where(match).ToList();
            if (hits.Count >= count)
            {
                return hits[count - 1];
            }
            await Task.Delay(20);
        }
        throw new TimeoutException($"no {count} push(es) matched within the timeout; received: {string.Join(", ", _received.Select(r => r.Path))}");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

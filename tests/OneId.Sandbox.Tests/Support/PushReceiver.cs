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

    /// <summary>Waits until <paramref name="count"/> received pushes match; the timeout only bounds a failure.</summary>
    public async Task<ReceivedPush> WaitForAsync(Func<ReceivedPush, bool> match, TimeSpan? timeout = null, int count = 1)
    {
        var hits = await OneId.Testing.Eventually.ValueAsync(() => Task.FromResult(_received.Where(match).ToList()), h => h.Count >= count,
            $"{count} matching push(es); received: {string.Join(", ", _received.Select(r => r.Path))}", timeout).ConfigureAwait(false);
        return hits[count - 1];
    }

    /// <summary>The decrypted XML of every push received on a path (encrypted with <paramref name="aesKey"/>, or plain).</summary>
    public IReadOnlyList<string> Messages(string path, string? aesKey) =>
        [.. _received.Where(r => r.Path == path).Select(r => aesKey is null ? r.Body : CallbackOracle.Decrypt(aesKey, CallbackOracle.Between(r.Body, "Encrypt")).Message)];

    /// <summary>Waits for a push on <paramref name="path"/> whose decrypted XML satisfies <paramref name="match"/>, and returns that XML.</summary>
    public Task<string> WaitForMessageAsync(string path, string? aesKey, Func<string, bool> match) =>
        OneId.Testing.Eventually.ValueAsync(() => Task.FromResult(Messages(path, aesKey).FirstOrDefault(match) ?? ""), xml => xml.Length > 0,
            $"a push on {path} matching the condition; got {Messages(path, aesKey).Count} on that path");

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

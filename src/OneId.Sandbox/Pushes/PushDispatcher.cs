using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using OneId.Sandbox.Hosting;
using OneId.Sandbox.World;
using OneId.WeChat.Crypto;

namespace OneId.Sandbox.Pushes;

/// <summary>How a push is wrapped on the wire.</summary>
internal enum PushStyle
{
    /// <summary>OA/MP: signature + timestamp + nonce + openid; safe mode adds encrypt_type=aes and msg_signature (§7.1).</summary>
    OfficialAccount,

    /// <summary>Third-party platform: like OA, the body's outer tag is AppId (§5.1).</summary>
    Component,

    /// <summary>WeCom: msg_signature + timestamp + nonce, ToUserName + AgentID + Encrypt (§7.5).</summary>
    WeCom,
}

/// <summary>A push to send: the plaintext XML, where to, and how to wrap it.</summary>
internal sealed record PushEnvelope(string Event, SandboxCallback Target, PushStyle Style, string ReceiveId, string ToUserName,
    string Xml, string? OpenId = null, string? AgentId = null);

/// <summary>What happened to a push (<c>GET /_sandbox/pushes</c>); <c>NextAttemptAt</c> (sandbox time) while it is pending, else null.</summary>
public sealed record PushRecord(long Id, string Event, string Url, string Status, int Attempts, string? LastError, DateTimeOffset? NextAttemptAt = null);

/// <summary>
/// Delivers pushes like WeChat (§7.2): signed, encrypted in safe mode, 5 s timeout, 3 attempts in total; any
/// HTTP 200 ends the retries. Retries are scheduled in sandbox time, so advancing the clock hurries them.
/// </summary>
public sealed class PushDispatcher : IDisposable
{
    private readonly SandboxHostOptions _options;
    private readonly SandboxClock _clock;
    private readonly ILogger<PushDispatcher> _logger;
    private readonly HttpClient _http;
    private readonly ConcurrentDictionary<long, Delivery> _deliveries = new();
    private readonly SemaphoreSlim _wake = new(0);
    private long _ids;

    private sealed class Delivery(long id, PushEnvelope envelope, DateTimeOffset dueAt)
    {
        public long Id { get; } = id;
        public PushEnvelope Envelope { get; } = envelope;
        public DateTimeOffset DueAt { get; set; } = dueAt;
        public int Attempts { get; set; }
        public string Status { get; set; } = "pending";
        public string? LastError { get; set; }
        public int InFlight;
    }

    public PushDispatcher(SandboxHostOptions options, SandboxClock clock, ILogger<PushDispatcher> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _clock = clock;
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>Pushes so far, newest last.</summary>
    public IReadOnlyList<PushRecord> Records =>
        [.. _deliveries.Values.OrderBy(d => d.Id).Select(d => new PushRecord(d.Id, d.Envelope.Event, d.Envelope.Target.Url, d.Status, d.Attempts, d.LastError,
            d.Status == "pending" ? d.DueAt : null))];

    internal long Enqueue(PushEnvelope envelope)
    {
        var id = Interlocked.Increment(ref _ids);
        _deliveries[id] = new Delivery(id, envelope, _clock.GetUtcNow());
        if (_deliveries.Count > 5000)
        {
            foreach (var old in _deliveries.Values.Where(d => d.Status != "pending").OrderBy(d => d.Id).Take(1000))
            {
                _deliveries.TryRemove(old.Id, out _);
            }
        }
        _wake.Release();
        return id;
    }

    /// <summary>Waits for new pushes or the next tick (the background loop calls this).</summary>
    internal async Task WaitAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _wake.WaitAsync(_options.BackgroundTick, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // shutting down
        }
    }

    /// <summary>Starts every due attempt; attempts run concurrently so one slow receiver does not hold the rest.</summary>
    internal void DispatchDue(CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        foreach (var delivery in _deliveries.Values)
        {
            if (delivery.Status == "pending" && delivery.DueAt <= now && Interlocked.Exchange(ref delivery.InFlight, 1) == 0)
            {
                _ = AttemptAsync(delivery, cancellationToken);
            }
        }
    }

    private async Task AttemptAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        var envelope = delivery.Envelope;
        delivery.Attempts++;
        string? failure;
        try
        {
            using var request = BuildRequest(envelope);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.PushTimeout);
            using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            // Any non-200 status is a failure (WeCom doc; the OA text is the same, §7.2).
            failure = response.StatusCode == System.Net.HttpStatusCode.OK ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            failure = $"no answer within {_options.PushTimeout.TotalSeconds:0.#} s";
        }
        catch (HttpRequestException ex)
        {
            failure = ex.Message;
        }
        catch (OperationCanceledException)
        {
            Volatile.Write(ref delivery.InFlight, 0);
            return;
        }
        if (failure is null)
        {
            delivery.Status = "delivered";
            delivery.LastError = null;
            Log.PushDelivered(_logger, delivery.Id, envelope.Event, envelope.Target.Url, delivery.Attempts);
        }
        else
        {
            delivery.LastError = failure;
            Log.PushFailed(_logger, delivery.Id, envelope.Event, envelope.Target.Url, delivery.Attempts, failure);
            if (delivery.Attempts >= _options.PushAttempts)
            {
                delivery.Status = "failed";
            }
            else
            {
                delivery.DueAt = _clock.GetUtcNow() + _options.PushRetryDelay;
            }
        }
        Volatile.Write(ref delivery.InFlight, 0);
    }

    /// <summary>Signs and (with an aes_key) encrypts the push exactly as WeChat does (§7.1, §7.2).</summary>
    internal HttpRequestMessage BuildRequest(PushEnvelope envelope)
    {
        var target = envelope.Target;
        var timestamp = _clock.UnixSeconds().ToString(CultureInfo.InvariantCulture);
        var nonce = RandomNumberGenerator.GetInt32(100_000_000, int.MaxValue).ToString(CultureInfo.InvariantCulture);
        var query = new List<(string, string)>();
        string body;
        if (target.AesKey is { } aesKey)
        {
            var crypto = new WeChatMessageCrypto(target.Token, aesKey, envelope.ReceiveId);
            var sealedMessage = crypto.Encrypt(envelope.Xml, timestamp, nonce);
            body = envelope.Style switch
            {
                PushStyle.Component => $"<xml><AppId><![CDATA[{envelope.ToUserName}]]></AppId><Encrypt><![CDATA[{sealedMessage.Encrypt}]]></Encrypt></xml>",
                PushStyle.WeCom => WeChatMessageCrypto.BuildEncryptedBody(envelope.ToUserName, sealedMessage.Encrypt, envelope.AgentId),
                _ => WeChatMessageCrypto.BuildEncryptedBody(envelope.ToUserName, sealedMessage.Encrypt),
            };
            if (envelope.Style == PushStyle.WeCom)
            {
                query.Add(("msg_signature", sealedMessage.MsgSignature));
                query.Add(("timestamp", timestamp));
                query.Add(("nonce", nonce));
            }
            else
            {
                query.Add(("signature", WeChatSignature.ComputeCallback(target.Token, timestamp, nonce)));
                query.Add(("timestamp", timestamp));
                query.Add(("nonce", nonce));
                if (envelope.OpenId is not null)
                {
                    query.Add(("openid", envelope.OpenId));
                }
                query.Add(("encrypt_type", "aes"));
                query.Add(("msg_signature", sealedMessage.MsgSignature));
            }
        }
        else
        {
            // Plain mode: the XML as is, signed over [token, timestamp, nonce] (§7.1).
            body = envelope.Xml;
            query.Add((envelope.Style == PushStyle.WeCom ? "msg_signature" : "signature", WeChatSignature.ComputeCallback(target.Token, timestamp, nonce)));
            query.Add(("timestamp", timestamp));
            query.Add(("nonce", nonce));
            if (envelope.OpenId is not null)
            {
                query.Add(("openid", envelope.OpenId));
            }
        }
        var separator = target.Url.Contains('?', StringComparison.Ordinal) ? "&" : "?";
        var url = target.Url + separator + string.Join('&', query.Select(p => p.Item1 + "=" + Uri.EscapeDataString(p.Item2)));
        return new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "text/xml") };
    }

    public void Dispose()
    {
        _http.Dispose();
        _wake.Dispose();
    }
}

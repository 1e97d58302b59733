using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace OneId.WeChat.Http;

/// <summary>
/// Retries transient failures with exponential backoff and jitter (Polly.Core): errcode -1 inside an HTTP 200 (§0.2),
/// HTTP 5xx/408/429, connection failures and attempt timeouts. Rate-limit errcodes (45009, 45011) are not retried
/// here: waiting seconds does not help; the caller sees <see cref="WeChatApiException.IsTransient"/> and pauses.
/// </summary>
/// <remarks>
/// A retried code exchange (sns/oauth2, jscode2session) whose first attempt did reach WeChat answers 40163 "code been used";
/// that surfaces as an invalid-code error, which is the truth: the first attempt consumed the code.
/// </remarks>
public sealed class WeChatResilienceHandler : DelegatingHandler
{
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

    public WeChatResilienceHandler(IOptions<WeChatOptions> options, ILogger<WeChatResilienceHandler> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var retry = options.Value.Retry;
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        if (retry.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = retry.MaxRetryAttempts,
                Delay = retry.BaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = static async args => args.Outcome switch
                {
                    { Exception: HttpRequestException or TimeoutRejectedException } => true,
                    { Result: { } response } => await IsTransientAsync(response, args.Context.CancellationToken).ConfigureAwait(false),
                    _ => false,
                },
                OnRetry = args =>
                {
                    var endpoint = args.Context.Properties.TryGetValue(EndpointKey, out var e) ? e : "?";
                    var reason = args.Outcome.Exception?.GetType().Name ?? $"HTTP {(int?)args.Outcome.Result?.StatusCode}";
                    WeChatLog.Retrying(logger, endpoint, args.AttemptNumber + 1, args.RetryDelay, reason);
                    return default;
                },
            });
        }
        builder.AddTimeout(retry.AttemptTimeout);
        _pipeline = builder.Build();
    }

    private static readonly ResiliencePropertyKey<string> EndpointKey = new("OneId.WeChat.Endpoint");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            context.Properties.Set(EndpointKey, request.Options.TryGetValue(WeChatRequestOptions.Endpoint, out var endpoint) ? endpoint : request.RequestUri?.AbsolutePath ?? "?");
            return await _pipeline.ExecuteAsync(
                static async (ctx, state) =>
                {
                    var response = await state.Handler.SendCoreAsync(state.Request, ctx.CancellationToken).ConfigureAwait(false);
                    // Buffer now, inside the attempt timeout, so that the errcode can be peeked and the body read later.
                    await response.Content.LoadIntoBufferAsync(ctx.CancellationToken).ConfigureAwait(false);
                    return response;
                },
                context,
                (Handler: this, Request: request)).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private Task<HttpResponseMessage> SendCoreAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        base.SendAsync(request, cancellationToken);

    private static async ValueTask<bool> IsTransientAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        if (status >= 500 || status is 408 or 429)
        {
            return true;
        }
        return await WeChatHttp.PeekErrCodeAsync(response, cancellationToken).ConfigureAwait(false) == WeChatErrorCodes.SystemBusy;
    }
}

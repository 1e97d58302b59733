using Microsoft.Extensions.Logging;
using OneId.WeChat.Tokens;

namespace OneId.WeChat.Http;

/// <summary>
/// Attaches the request's token (a query parameter: WeChat never uses an Authorization header) and, when WeChat answers
/// 40001/40014/42001 for a managed token, asks the token service for ONE refresh and retries ONE time. The token service
/// coordinates the refresh through the store's lease, so 100 concurrent callers refused at once cause one fetch, not 100.
/// </summary>
public sealed class WeChatTokenHandler(IAccessTokenService tokens, ILogger<WeChatTokenHandler> logger) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.Options.TryGetValue(WeChatRequestOptions.Token, out var binding) || binding.Key is null)
        {
            // No managed token: explicit tokens are already in the query.
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var token = await tokens.GetTokenAsync(binding.Key, cancellationToken).ConfigureAwait(false);
        request.RequestUri = WeChatUri.WithParameter(request.RequestUri!, binding.ParameterName, token.Value);
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);

        var errCode = await WeChatHttp.PeekErrCodeAsync(response, cancellationToken).ConfigureAwait(false);
        if (errCode is not { } code || !WeChatErrorCodes.IsInvalidToken(code))
        {
            return response;
        }

        var endpoint = request.Options.TryGetValue(WeChatRequestOptions.Endpoint, out var e) ? e : "?";
        WeChatLog.TokenRejected(logger, binding.Key.StoreKey, token.Fingerprint, endpoint, code);
        response.Dispose();
        var fresh = await tokens.RefreshAsync(binding.Key, token.Value, cancellationToken).ConfigureAwait(false);
        request.RequestUri = WeChatUri.WithParameter(request.RequestUri!, binding.ParameterName, fresh.Value);
        // One retry only: a second refusal is returned to the caller as a WeChatApiException (IsInvalidToken).
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }
}

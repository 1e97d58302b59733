using Microsoft.Extensions.Logging;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;
using OneId.WeChat.Tokens;

namespace OneId.WeChat.Clients;

/// <summary>Mini Program login, paid unionid and phone number (§4). Third-party platforms use <see cref="ComponentClient"/>'s code2Session.</summary>
public sealed class MiniProgramClient(HttpClient http, IWeChatCredentialProvider credentials, ILogger<MiniProgramClient> logger)
{
    /// <summary>
    /// GET sns/jscode2session (§4.1): a wx.login code (5 min, single use) → openid, session_key and, when bound, unionid.
    /// The answer may be labelled text/plain; it is parsed as JSON regardless.
    /// </summary>
    public async Task<MiniProgramSession> Code2SessionAsync(AppId appId, string jsCode, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jsCode);
        var secret = (await credentials.GetAppAsync(appId, cancellationToken).ConfigureAwait(false))?.Secret
            ?? throw new InvalidOperationException($"No AppSecret is configured for mini program {appId}; add it to OneId:WeChat:Apps.");
        return await WeChatHttp.GetAsync<MiniProgramSession>(http, logger, "sns/jscode2session",
            [new("appid", appId), new("secret", secret), new("js_code", jsCode), new("grant_type", "authorization_code")], null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>GET wxa/getpaidunionid by transaction_id, within 5 minutes of the payment (§4.4).</summary>
    public Task<PaidUnionIdResponse> GetPaidUnionIdAsync(TokenBinding token, OpenId openId, string transactionId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(transactionId);
        return WeChatHttp.GetAsync<PaidUnionIdResponse>(http, logger, "wxa/getpaidunionid",
            [new("openid", openId), new("transaction_id", transactionId)], token, cancellationToken);
    }

    /// <summary>GET wxa/getpaidunionid by mch_id + out_trade_no (§4.4).</summary>
    public Task<PaidUnionIdResponse> GetPaidUnionIdAsync(TokenBinding token, OpenId openId, string mchId, string outTradeNo, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(mchId);
        ArgumentException.ThrowIfNullOrEmpty(outTradeNo);
        return WeChatHttp.GetAsync<PaidUnionIdResponse>(http, logger, "wxa/getpaidunionid",
            [new("openid", openId), new("mch_id", mchId), new("out_trade_no", outTradeNo)], token, cancellationToken);
    }

    /// <summary>POST wxa/business/getuserphonenumber with a getPhoneNumber code (5 min, single use, §4.6).</summary>
    public Task<PhoneNumberResponse> GetPhoneNumberAsync(TokenBinding token, string code, OpenId? openId = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        object body = openId is { } o ? new { code, openid = o.Value } : new { code };
        return WeChatHttp.PostAsync<PhoneNumberResponse>(http, logger, "wxa/business/getuserphonenumber", null, body, token, cancellationToken);
    }
}

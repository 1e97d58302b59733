using System.Security.Cryptography;

namespace OneId.Sandbox.Endpoints;

/// <summary>
/// Error codes with their real errmsg (docs/wechat-api.md §0.2 and §6.16) and the suffixes WeChat appends: clients
/// must never match errmsg exactly, and the sandbox makes sure they cannot.
/// </summary>
internal static class WeChatErrors
{
    private static readonly Dictionary<int, string> OfficialMessages = new()
    {
        [-1] = "system error",
        [40001] = "invalid credential, access_token is invalid or not latest",
        [40002] = "invalid grant_type",
        [40003] = "invalid openid",
        [40013] = "invalid appid",
        [40014] = "invalid access_token",
        [40029] = "invalid code",
        [40030] = "invalid refresh_token",
        [40032] = "invalid openid list size",
        [40052] = "invalid action name",
        [40053] = "invalid action info",
        [40125] = "invalid appsecret",
        [40163] = "code been used",
        [40226] = "code blocked",
        [41001] = "access_token missing",
        [41002] = "appid missing",
        [41003] = "refresh_token missing",
        [41004] = "appsecret missing",
        [41008] = "missing code",
        [41009] = "missing openid",
        [41018] = "missing component_appid",
        [42001] = "access_token expired",
        [42002] = "refresh_token expired",
        [42003] = "code expired",
        [43001] = "require GET method",
        [43002] = "require POST method",
        [44002] = "empty post data",
        [45009] = "reach max api daily quota limit",
        [45011] = "api minute-quota reach limit mustslower retry next minute",
        [47001] = "data format error",
        [48001] = "api unauthorized",
        [61003] = "component is not authorized by this account",
        [61005] = "component ticket is expired",
        [61006] = "component ticket is invalid",
        [61009] = "code is invalid",
        [61010] = "code is expired",
        [61011] = "invalid component",
        [61014] = "must use component token for component api",
        [61023] = "refresh_token is invalid",
        [89002] = "open not exists",
        [89300] = "invalid trade",
    };

    private static readonly Dictionary<int, string> WeComMessages = new()
    {
        [-1] = "system busy",
        [40001] = "invalid credential",
        [40003] = "invalid userid",
        [40013] = "invalid corpid",
        [40014] = "invalid access_token",
        [40029] = "invalid code",
        [40031] = "invalid userid list",
        [40058] = "invalid parameter",
        [40091] = "secret invalid",
        [40082] = "invalid suite_token",
        [40083] = "invalid suite_id",
        [40085] = "invalid suite_ticket",
        [40096] = "invalid external userid",
        [41001] = "access_token missing",
        [41002] = "corpid missing",
        [41004] = "secret missing",
        [42001] = "access_token expired",
        [42009] = "suite_access_token expired",
        // 45009's WeCom text is unconfirmed (§6.1); we use the OA wording.
        [45009] = "api freq out of limit",
        [47001] = "data format error",
        [48002] = "api forbidden",
        [60011] = "no privilege to access/modify contact/party/agent",
        [60111] = "userid not found",
        [84061] = "not external contact",
        [84074] = "no external-contact permission",
        [845003] = "unionid and corp subject not match",
    };

    public static string OfficialMessage(int errcode) => OfficialMessages.GetValueOrDefault(errcode, "system error");

    public static string WeComMessage(int errcode) => WeComMessages.GetValueOrDefault(errcode, "system busy");

    /// <summary>OA/MP errmsg: <c>"&lt;msg&gt; rid: 64b09fbb-56b7faa9-1054a9fe"</c> (§0.1, newer form).</summary>
    public static string WithRid(string message) => $"{message} rid: {Hex8()}-{Hex8()}-{Hex8()}";

    /// <summary>WeCom errmsg with hint, caller ip and the devtool link (§0.1).</summary>
    public static string WithWeComHint(string message, int errcode, string callerIp)
    {
        var hint = string.Concat(Enumerable.Range(0, 25).Select(_ => (char)('0' + RandomNumberGenerator.GetInt32(10))));
        return $"{message}, hint: [{hint}], from ip: {callerIp}, more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}";
    }

    private static string Hex8() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
}

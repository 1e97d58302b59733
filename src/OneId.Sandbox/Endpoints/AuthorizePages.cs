using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OneId.Sandbox.State;
using OneId.Sandbox.World;

namespace OneId.Sandbox.Endpoints;

/// <summary>
/// The browser pages of open.weixin.qq.com (§3.1, §3.6), served under /open: a small page to pick a user and allow
/// or deny; with <c>sandbox_user=NAME</c> (and <c>sandbox_snapshot=1</c>, or <c>sandbox_action=deny</c>) in the
/// query they answer at once with the redirect, for scripts and tests.
/// </summary>
internal static class AuthorizePages
{
    public static void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/open/connect/oauth2/authorize", (HttpContext http, SandboxRuntime runtime) => Page(http, runtime, qrConnect: false));
        routes.MapGet("/open/connect/qrconnect", (HttpContext http, SandboxRuntime runtime) => Page(http, runtime, qrConnect: true));
        routes.MapGet("/mp/cgi-bin/componentloginpage", ComponentLoginPage);
    }

    /// <summary>
    /// mp.weixin.qq.com/cgi-bin/componentloginpage (§5.3): an admin picks the app to authorize; the browser returns
    /// to redirect_uri with auth_code and expires_in, and the `authorized` event is pushed. The pre_auth_code is
    /// spent. <c>sandbox_authorizer=APPID</c> answers at once.
    /// </summary>
    private static IResult ComponentLoginPage(HttpContext http, SandboxRuntime runtime, Pushes.SandboxEvents events)
    {
        var state = runtime.State;
        var q = http.Request.Query;
        string? P(string name) => string.IsNullOrEmpty(q[name]) ? null : q[name].ToString();
        if (P("component_appid") is not { } componentAppid || !state.Components.TryGetValue(componentAppid, out var component))
        {
            return ErrorPage(61011, "component_appid 无效 (invalid component)");
        }
        if (P("redirect_uri") is not { } redirectUri || !Uri.TryCreate(redirectUri, UriKind.Absolute, out _))
        {
            return ErrorPage(10011, "redirect_uri 参数错误");
        }
        var preAuthCode = P("pre_auth_code");
        if (preAuthCode is null || state.Codes.Peek(preAuthCode) is not { Kind: CodeKind.PreAuth } pre || pre.Appid != componentAppid || pre.ExpiresAt <= state.Clock.GetUtcNow())
        {
            return ErrorPage(61009, "pre_auth_code 无效或已过期 (invalid or expired pre_auth_code)");
        }
        // auth_type: 1 OA only, 2 MP only, 3 both (default), §5.3.
        var types = P("auth_type") switch
        {
            "1" => new[] { AppTypes.OfficialAccount },
            "2" => [AppTypes.MiniProgram, AppTypes.MiniGame],
            _ => [AppTypes.OfficialAccount, AppTypes.MiniProgram, AppTypes.MiniGame],
        };
        var chosen = P("sandbox_authorizer") ?? P("biz_appid");
        if (chosen is null || P("sandbox_authorizer") is null)
        {
            var hidden = new StringBuilder();
            foreach (var (key, value) in q)
            {
                hidden.Append("<input type=hidden name=\"").Append(WebUtility.HtmlEncode(key)).Append("\" value=\"").Append(WebUtility.HtmlEncode(value.ToString())).Append("\">");
            }
            var options = new StringBuilder();
            foreach (var app in state.World.Apps.Where(a => types.Contains(a.Type)))
            {
                options.Append("<option value=\"").Append(app.Appid).Append("\"").Append(app.Appid == chosen ? " selected" : "").Append('>')
                    .Append(WebUtility.HtmlEncode((app.Name ?? app.Type) + " (" + app.Appid + ")")).Append("</option>");
            }
            var body = $"<h1>授权给第三方平台</h1><p>{WebUtility.HtmlEncode(componentAppid)} asks an admin to authorize an account.</p>" +
                $"<form method=get>{hidden}<label>Account <select name=sandbox_authorizer>{options}</select></label><p><button>Authorize 授权</button></p></form>";
            return Results.Content(Html("授权", body), "text/html; charset=utf-8", Encoding.UTF8);
        }
        if (!state.Apps.TryGetValue(chosen, out var authorizer) || !types.Contains(authorizer.Type))
        {
            return ErrorPage(61003, $"{chosen} cannot authorize with auth_type {P("auth_type") ?? "3"}");
        }
        try
        {
            state.Codes.Redeem(preAuthCode, CodeKind.PreAuth, componentAppid, 61009, 61009, 61010, usedErrcode: 61009);
        }
        catch (WeChatApiException ex)
        {
            return ErrorPage(ex.Errcode, "pre_auth_code 已使用 (pre_auth_code already used)");
        }
        var code = ComponentEndpoints.Authorize(state, events, component, authorizer, preAuthCode);
        return Results.Redirect(WithQuery(redirectUri, ("auth_code", code.Code), ("expires_in", ((int)ComponentEndpoints.AuthorizationCodeLifetime.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture))));
    }

    /// <summary>Issues the code a consent gives (shared with <c>POST /_sandbox/users/{user}/authorize</c>).</summary>
    public static string IssueCode(SandboxWorldState state, SandboxUser user, string appid, string scope, bool snapshot, string? componentAppid)
    {
        if (!state.Apps.TryGetValue(appid, out var app))
        {
            throw new ControlException(404, $"no app '{appid}' in the world");
        }
        var allowed = app.Type switch
        {
            AppTypes.OfficialAccount => scope is "snsapi_base" or "snsapi_userinfo",
            AppTypes.Website => scope == "snsapi_login",
            AppTypes.MobileApp => scope == "snsapi_userinfo",
            _ => false,
        };
        if (!allowed)
        {
            throw new ControlException(400, $"scope '{scope}' is not for a {app.Type} (official_account: snsapi_base|snsapi_userinfo; website: snsapi_login; mobile_app: snsapi_userinfo)");
        }
        if (snapshot && !(app.Type == AppTypes.OfficialAccount && scope == "snsapi_userinfo"))
        {
            // Snapshot pages come from non-compliant snsapi_userinfo requests of an OA web page (§3.1).
            throw new ControlException(400, "snapshot mode applies to official_account snsapi_userinfo only");
        }
        if (componentAppid is not null)
        {
            if (!state.Components.TryGetValue(componentAppid, out var component))
            {
                throw new ControlException(404, $"no component '{componentAppid}' in the world");
            }
            if (!ApiContext.IsAuthorizer(state, component, appid))
            {
                throw new ControlException(400, $"{appid} has not authorized component {componentAppid} (10015)");
            }
        }
        // OA codes live 5 minutes, website and mobile-app codes 10 (§3.2).
        var lifetime = app.Type == AppTypes.OfficialAccount ? TimeSpan.FromMinutes(5) : TimeSpan.FromMinutes(10);
        return state.Codes.Issue(CodeKind.OAuth, appid, lifetime, user.Name, scope, snapshot, componentAppid).Code;
    }

    private static IResult Page(HttpContext http, SandboxRuntime runtime, bool qrConnect)
    {
        var state = runtime.State;
        var q = http.Request.Query;
        string? P(string name) => string.IsNullOrEmpty(q[name]) ? null : q[name].ToString();
        var appid = P("appid");
        var redirectUri = P("redirect_uri");
        var scope = P("scope");
        var stateParam = P("state") ?? "";
        var componentAppid = P("component_appid");
        // Error codes shown on the page (not JSON), §3.1.
        if (appid is null)
        {
            return ErrorPage(10012, "appid 参数错误 (appid empty)");
        }
        if (redirectUri is null)
        {
            return ErrorPage(10011, "redirect_uri 参数错误 (redirect_uri empty)");
        }
        if (scope is null)
        {
            return ErrorPage(10010, "scope 参数错误 (scope empty)");
        }
        if (!state.Apps.TryGetValue(appid, out var app))
        {
            return ErrorPage(10016, "appid 参数错误 (unknown appid)");
        }
        var expectedType = qrConnect ? AppTypes.Website : AppTypes.OfficialAccount;
        if (app.Type != expectedType)
        {
            return ErrorPage(10016, $"this page is for a {expectedType}; {appid} is a {app.Type}");
        }
        var scopeOk = qrConnect ? scope == "snsapi_login" : scope is "snsapi_base" or "snsapi_userinfo";
        if (!scopeOk)
        {
            return ErrorPage(10005, $"scope {scope} 没有权限 (no permission for the scope)");
        }
        if (!Uri.TryCreate(redirectUri, UriKind.Absolute, out _))
        {
            return ErrorPage(10003, "redirect_uri 域名与后台配置不一致 (redirect_uri is not an absolute URL)");
        }
        var userName = P("sandbox_user");
        if (userName is null)
        {
            return ConsentPage(http, state, app, scope, qrConnect);
        }
        if (P("sandbox_action") == "deny")
        {
            // Refusal: back to the redirect_uri with state only (§3.1, §3.6).
            return Results.Redirect(WithQuery(redirectUri, ("state", stateParam)));
        }
        if (state.Users.Find(userName) is not { } user)
        {
            return ErrorPage(404, $"no sandbox user '{userName}'", HttpStatusCode.NotFound);
        }
        try
        {
            var code = IssueCode(state, user, appid, scope, P("sandbox_snapshot") == "1", componentAppid);
            return Results.Redirect(WithQuery(redirectUri, ("code", code), ("state", stateParam)));
        }
        catch (ControlException ex)
        {
            return ErrorPage(10015, ex.Message);
        }
    }

    private static string WithQuery(string uri, params (string Name, string Value)[] pairs)
    {
        var fragment = uri.IndexOf('#', StringComparison.Ordinal);
        var baseUri = fragment >= 0 ? uri[..fragment] : uri;
        var sb = new StringBuilder(baseUri);
        var separator = baseUri.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        foreach (var (name, value) in pairs)
        {
            sb.Append(separator).Append(name).Append('=').Append(Uri.EscapeDataString(value));
            separator = '&';
        }
        return sb.ToString();
    }

    private static IResult ErrorPage(int code, string message, HttpStatusCode status = HttpStatusCode.OK) =>
        Results.Content(Html("出错了", $"<p class=err>{code}</p><p>{WebUtility.HtmlEncode(message)}</p>"), "text/html; charset=utf-8", Encoding.UTF8, (int)status);

    private static IResult ConsentPage(HttpContext http, SandboxWorldState state, SandboxApp app, string scope, bool qrConnect)
    {
        var hidden = new StringBuilder();
        foreach (var (key, value) in http.Request.Query)
        {
            if (!key.StartsWith("sandbox_", StringComparison.Ordinal))
            {
                hidden.Append("<input type=hidden name=\"").Append(WebUtility.HtmlEncode(key)).Append("\" value=\"")
                    .Append(WebUtility.HtmlEncode(value.ToString())).Append("\">");
            }
        }
        var options = new StringBuilder();
        foreach (var name in state.Users.NamedUsers().Take(200))
        {
            options.Append("<option>").Append(WebUtility.HtmlEncode(name)).Append("</option>");
        }
        var snapshot = !qrConnect && scope == "snsapi_userinfo"
            ? "<label><input type=checkbox name=sandbox_snapshot value=1> snapshot mode (virtual user, is_snapshotuser=1)</label>"
            : "";
        var what = scope == "snsapi_base" ? "your openid (silent)" : "your WeChat profile (nickname, avatar)";
        var body = $"""
            <h1>{WebUtility.HtmlEncode(app.Name ?? app.Appid)}</h1>
            <p>{WebUtility.HtmlEncode(app.Appid)} asks for {what} — scope <code>{WebUtility.HtmlEncode(scope)}</code>.</p>
            <form method=get>
            {hidden}
            <label>WeChat user <input name=sandbox_user list=users required autofocus></label>
            <datalist id=users>{options}</datalist>
            {snapshot}
            <p><button name=sandbox_action value=allow>Allow 允许</button> <button name=sandbox_action value=deny formnovalidate>Deny 拒绝</button></p>
            </form>
            <p class=note>OneId sandbox: this page stands in for open.weixin.qq.com.</p>
            """;
        return Results.Content(Html("微信授权", body), "text/html; charset=utf-8", Encoding.UTF8);
    }

    private static string Html(string title, string body) => $$"""
        <!doctype html><html lang=zh><head><meta charset=utf-8><meta name=viewport content="width=device-width">
        <title>{{title}}</title>
        <style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}button{padding:.5rem 1rem}.err{font-size:2rem;color:#c00}.note{color:#888;font-size:.8rem}</style>
        </head><body>{{body}}</body></html>
        """;
}

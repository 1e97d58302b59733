using System.Text;
using OneId.WeChat.Tokens;

namespace OneId.WeChat.Http;

/// <summary>How a request carries its token: a managed <see cref="TokenKey"/> or a caller-supplied token.</summary>
/// <param name="Key">A token the token service manages; the handler refreshes it once on 40001/40014/42001.</param>
/// <param name="ExplicitToken">A token the caller holds (suite / provider tokens, user OAuth tokens); never refreshed.</param>
/// <param name="ParameterName">The query parameter: access_token, component_access_token, suite_access_token, provider_access_token.</param>
public sealed record TokenBinding(TokenKey? Key, string? ExplicitToken, string ParameterName = "access_token")
{
    public static TokenBinding Managed(TokenKey key, string parameterName = "access_token") => new(key, null, parameterName);

    public static TokenBinding Explicit(string token, string parameterName = "access_token")
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        return new(null, token, parameterName);
    }

    /// <summary>A managed token passed as <c>access_token</c>.</summary>
    public static implicit operator TokenBinding(TokenKey key) => Managed(key);

    public override string ToString() => Key is not null ? $"{ParameterName}<{Key}>" : $"{ParameterName}<explicit>";
}

/// <summary>Per-request options the WeChat handlers read.</summary>
public static class WeChatRequestOptions
{
    /// <summary>The token to attach.</summary>
    public static readonly HttpRequestOptionsKey<TokenBinding> Token = new("OneId.WeChat.Token");

    /// <summary>The endpoint name for logs and errors (the path without the query, which may hold secrets).</summary>
    public static readonly HttpRequestOptionsKey<string> Endpoint = new("OneId.WeChat.Endpoint");
}

/// <summary>Builds relative request URIs. Paths have no leading slash so that base addresses with a path (the sandbox's
/// <c>/qyapi/</c>) compose.</summary>
internal static class WeChatUri
{
    public static string Build(string path, IEnumerable<KeyValuePair<string, string?>>? query)
    {
        var sb = new StringBuilder(path);
        var first = !path.Contains('?', StringComparison.Ordinal);
        if (query is not null)
        {
            foreach (var (name, value) in query)
            {
                if (value is null)
                {
                    continue;
                }
                sb.Append(first ? '?' : '&').Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
                first = false;
            }
        }
        return sb.ToString();
    }

    /// <summary>Sets (replaces) one query parameter of an absolute URI.</summary>
    public static Uri WithParameter(Uri uri, string name, string value)
    {
        var builder = new UriBuilder(uri);
        var query = builder.Query.TrimStart('?');
        var kept = query.Length == 0
            ? []
            : query.Split('&').Where(p => !p.StartsWith(name + "=", StringComparison.Ordinal) && p != name).ToArray();
        var parameter = name + "=" + Uri.EscapeDataString(value);
        builder.Query = kept.Length == 0 ? parameter : string.Join('&', kept) + "&" + parameter;
        return builder.Uri;
    }
}

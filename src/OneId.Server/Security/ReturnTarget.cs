using System.Diagnostics.CodeAnalysis;

namespace OneId.Server.Security;

/// <summary>
/// Where a browser may be sent back after OA web authorization (<c>return_to</c>), carrying the hub's login token: a
/// path on the hub's own origin, or a URL on an origin of the configured allow-list. Anything else would be an open
/// redirect that hands the token to whoever wrote the link.
/// </summary>
/// <remarks>
/// The value is judged as a browser will read it, not as written: browsers drop tabs and newlines anywhere in a URL
/// and read backslashes as slashes, so <c>/\t/evil.example</c> and <c>/\evil.example</c> are both <c>//evil.example</c>,
/// a host. Control characters are refused outright (no real page needs them, and CR/LF or NUL in a Location header
/// would break the answer). The target is handed back percent-encoded (ASCII only), so that a path such as
/// <c>/中文</c> is a valid Location header.
/// </remarks>
public static class ReturnTarget
{
    /// <summary>Longer return_to values are refused (they travel in the OAuth state row and in a Location header).</summary>
    public const int MaxLength = 2048;

    /// <summary>
    /// The target as an absolute, percent-encoded URL, or an error saying why it is refused.
    /// </summary>
    /// <param name="returnTo">The caller's return_to, as received (query-decoded).</param>
    /// <param name="hubOrigin">The hub's own public origin.</param>
    /// <param name="allowedOrigins">Other origins the hub may send browsers to (<c>return_to_origins</c>).</param>
    public static bool TryResolve(string returnTo, Uri hubOrigin, IReadOnlyCollection<string> allowedOrigins,
        [NotNullWhen(true)] out Uri? target, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(returnTo);
        ArgumentNullException.ThrowIfNull(hubOrigin);
        ArgumentNullException.ThrowIfNull(allowedOrigins);
        target = null;
        if (returnTo.Length > MaxLength)
        {
            error = $"return_to is longer than {MaxLength} characters";
            return false;
        }
        // What a browser does first (WHATWG URL parsing): strip leading and trailing C0 controls and spaces, remove
        // every tab and newline, read '\' as '/'.
        var normalized = returnTo.Trim(ControlsAndSpace).Replace("\t", "", StringComparison.Ordinal)
            .Replace("\n", "", StringComparison.Ordinal).Replace("\r", "", StringComparison.Ordinal).Replace('\\', '/');
        if (returnTo.Any(char.IsControl))
        {
            error = "return_to must not contain control characters (tabs, newlines, NUL)";
            return false;
        }
        if (normalized.StartsWith("//", StringComparison.Ordinal))
        {
            error = "return_to starting with // (or /\\) names another host; give a path (/…) or a full URL on an allowed origin";
            return false;
        }
        if (normalized.StartsWith('/'))
        {
            if (!Uri.TryCreate(hubOrigin, normalized, out var onHub) || !SameOrigin(onHub, hubOrigin))
            {
                error = "return_to is not a path on this hub";
                return false;
            }
            target = onHub;
            error = null;
            return true;
        }
        if (!(normalized.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || normalized.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            || !Uri.TryCreate(normalized, UriKind.Absolute, out var absolute) || !string.IsNullOrEmpty(absolute.UserInfo))
        {
            error = "return_to must be a path on this hub (/…) or an http(s) URL on an allowed origin";
            return false;
        }
        if (!SameOrigin(absolute, hubOrigin) && !allowedOrigins.Any(o => Uri.TryCreate(o, UriKind.Absolute, out var allowed) && SameOrigin(absolute, allowed)))
        {
            error = $"return_to origin {absolute.GetLeftPart(UriPartial.Authority)} is not this hub's and not in return_to_origins";
            return false;
        }
        target = absolute;
        error = null;
        return true;
    }

    /// <summary>Whether <paramref name="origin"/> is an origin as the allow-list wants it: http(s)://host[:port], nothing more.</summary>
    public static bool IsOrigin(string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" && string.IsNullOrEmpty(u.UserInfo)
        && u.AbsolutePath == "/" && string.IsNullOrEmpty(u.Query) && string.IsNullOrEmpty(u.Fragment) && !origin.TrimEnd('/').EndsWith('/');

    private static bool SameOrigin(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase)
        && a.Port == b.Port;

    private static readonly char[] ControlsAndSpace = [.. Enumerable.Range(0, 0x21).Select(c => (char)c)];
}

using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace OneId.WeChat.Http;

/// <summary>Sends one WeChat call and turns the answer into a typed result or a <see cref="WeChatApiException"/>.</summary>
internal static class WeChatHttp
{
    public static Task<T> GetAsync<T>(HttpClient http, ILogger logger, string path, IEnumerable<KeyValuePair<string, string?>>? query,
        TokenBinding? token, CancellationToken cancellationToken) =>
        SendAsync<T>(http, logger, HttpMethod.Get, path, query, body: null, token, cancellationToken);

    public static Task<T> PostAsync<T>(HttpClient http, ILogger logger, string path, IEnumerable<KeyValuePair<string, string?>>? query,
        object body, TokenBinding? token, CancellationToken cancellationToken) =>
        SendAsync<T>(http, logger, HttpMethod.Post, path, query, body, token, cancellationToken);

    private static async Task<T> SendAsync<T>(HttpClient http, ILogger logger, HttpMethod method, string path,
        IEnumerable<KeyValuePair<string, string?>>? query, object? body, TokenBinding? token, CancellationToken cancellationToken)
    {
        if (token is { Key: null, ExplicitToken: { } explicitToken })
        {
            // A caller-held token goes straight into the query: no handler manages it (the credential clients have none).
            query = (query ?? []).Append(new(token.ParameterName, explicitToken));
            token = null;
        }
        using var request = new HttpRequestMessage(method, WeChatUri.Build(path, query));
        request.Options.Set(WeChatRequestOptions.Endpoint, path);
        if (token is not null)
        {
            request.Options.Set(WeChatRequestOptions.Token, token);
        }
        if (body is not null)
        {
            // WeChat wants raw UTF-8 JSON; Chinese text unescaped is what its own samples send.
            var json = JsonSerializer.Serialize(body, body.GetType(), WeChatJson.Options);
            request.Content = new StringContent(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        }

        byte[] bytes;
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                WeChatLog.HttpFailure(logger, path, status);
                WeChatMetrics.Record(path, "http");
                throw new WeChatApiException(path, $"HTTP {status} {response.ReasonPhrase}", isTransient: status >= 500 || status is 408 or 429, status);
            }
            bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            WeChatLog.TransportFailure(logger, path, ex.Message);
            WeChatMetrics.Record(path, "transport");
            throw new WeChatApiException(path, $"the request failed ({ex.Message})", isTransient: true, innerException: ex);
        }
        catch (Polly.Timeout.TimeoutRejectedException ex)
        {
            WeChatLog.TransportFailure(logger, path, "timeout");
            WeChatMetrics.Record(path, "timeout");
            throw new WeChatApiException(path, "the request timed out", isTransient: true, innerException: ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            WeChatLog.TransportFailure(logger, path, "timeout");
            WeChatMetrics.Record(path, "timeout");
            throw new WeChatApiException(path, "the request timed out", isTransient: true, innerException: ex);
        }

        try
        {
            var answer = Parse<T>(logger, path, bytes);
            WeChatMetrics.Record(path, "0");
            return answer;
        }
        catch (WeChatApiException e)
        {
            WeChatMetrics.Record(path, e.ErrCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unreadable");
            throw;
        }
    }

    /// <summary>
    /// Parses the body whatever the Content-Type says (jscode2session may answer text/plain, §0.1): errcode present and
    /// non-zero → <see cref="WeChatApiException"/>; missing or 0 → success (§0.1).
    /// </summary>
    internal static T Parse<T>(ILogger logger, string path, byte[] bytes)
    {
        try
        {
            // The common answer has no errcode or 0: read it straight into T (one pass over the bytes, no document).
            if (!ScanErrCode(bytes, out var errCode) || errCode == 0)
            {
                return JsonSerializer.Deserialize<T>(bytes, WeChatJson.Options) ?? throw new JsonException("the answer is null");
            }
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            var errMsg = root.TryGetProperty("errmsg", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            WeChatLog.ApiError(logger, path, errCode, errMsg);
            throw new WeChatApiException(path, errCode, errMsg);
        }
        catch (JsonException ex)
        {
            WeChatLog.UnreadableAnswer(logger, path, ex.Message);
            throw new WeChatApiException(path, $"the answer is not the expected JSON ({ex.Message})", isTransient: false, innerException: ex);
        }
    }

    /// <summary>
    /// Reads the top-level errcode of an answer without building a document (every answer passes here, some twice:
    /// the retry and token handlers peek before <see cref="Parse{T}"/> reads it). WeChat sends it as a number, some
    /// gateways as a numeric string: both count; of a repeated name the last counts, as in
    /// <see cref="JsonElement.TryGetProperty(string, out JsonElement)"/>.
    /// </summary>
    /// <exception cref="JsonException">Not JSON, or not a JSON object.</exception>
    internal static bool ScanErrCode(ReadOnlySpan<byte> json, out int errCode)
    {
        errCode = 0;
        var found = false;
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("the answer is not a JSON object");
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isErrCode = reader.ValueTextEquals("errcode"u8);
            reader.Read();
            if (isErrCode)
            {
                // Both TryGet forms leave 0 when they fail; an errcode of another kind resets an earlier one too.
                errCode = 0;
                found = reader.TokenType switch
                {
                    JsonTokenType.Number => reader.TryGetInt32(out errCode),
                    JsonTokenType.String => int.TryParse(reader.GetString(), out errCode),
                    _ => false,
                };
            }
            reader.Skip();
        }
        // Past the object: anything but whitespace is malformed (the reader throws), as for JsonDocument.Parse.
        reader.Read();
        return found;
    }

    /// <summary>Reads the errcode of a buffered response without consuming it (handlers use it to decide retries).</summary>
    internal static async Task<int?> PeekErrCodeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }
        await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return ScanErrCode(bytes, out var code) ? code : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

using Microsoft.AspNetCore.Http.HttpResults;
using OneId.Server.Api;

namespace OneId.Server.Flows;

/// <summary>
/// Length and shape limits on every value a caller hands the hub to pass on to WeChat, checked before any WeChat call:
/// a 10,000-character "code" is the caller's mistake (400), not WeChat's (502), and it never leaves the hub.
/// </summary>
/// <remarks>
/// WeChat's own values are far inside these limits: wx.login codes and OAuth codes are 32 characters, phone codes 32–64
/// (docs/wechat-api.md §3.1, §4.1, §4.6), WeChat Pay transaction ids 28–32 digits (§4.4), session-key IVs 24 base64
/// characters and open-data signatures 40 hex digits (§4.5). The limits leave room for change without letting
/// arbitrary input through.
/// </remarks>
internal static class WeChatInput
{
    public const int MaxCodeLength = 256;
    public const int MaxTransactionIdLength = 64;
    public const int MaxEncryptedDataLength = 64 * 1024;
    public const int MaxRawDataLength = 16 * 1024;

    /// <summary>A one-time code from a WeChat client (wx.login, getPhoneNumber, OAuth, QR login): printable ASCII, no spaces.</summary>
    public static ProblemHttpResult? Code(string field, string code, string hint) =>
        code.Length > MaxCodeLength || !code.All(c => c is > ' ' and <= '~')
            ? Problems.BadRequest($"Malformed {field}", $"{field} must be at most {MaxCodeLength} printable ASCII characters without spaces, as WeChat gives it; {hint}")
            : null;

    /// <summary>A WeChat Pay transaction_id (digits in practice; letters, '-' and '_' tolerated).</summary>
    public static ProblemHttpResult? TransactionId(string transactionId) =>
        transactionId.Length > MaxTransactionIdLength || !transactionId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? Problems.BadRequest("Malformed transaction_id", $"transaction_id must be at most {MaxTransactionIdLength} letters, digits, '-' or '_': the WeChat Pay transaction id of the payment.")
            : null;

    /// <summary>wx.getUserInfo's encryptedData, iv, rawData and signature (checked and decrypted by the hub, never sent on).</summary>
    public static ProblemHttpResult? OpenData(string encryptedData, string iv, string rawData, string signature)
    {
        var ok = encryptedData.Length <= MaxEncryptedDataLength && IsBase64Text(encryptedData)
            && iv.Length <= 64 && IsBase64Text(iv)
            && rawData.Length <= MaxRawDataLength
            && signature.Length == 40 && signature.All(char.IsAsciiHexDigit);
        return ok ? null : Problems.BadRequest("Malformed open data",
            $"encryptedData (base64, at most {MaxEncryptedDataLength} characters), iv (base64), rawData (at most {MaxRawDataLength} characters) and signature (40 hex digits) must be exactly as wx.getUserInfo returned them.");
    }

    private static bool IsBase64Text(string s) => s.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=');
}

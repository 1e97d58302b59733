using System.Globalization;
using System.Text;

namespace OneId.Sandbox.Pushes;

/// <summary>
/// The decrypted XML of each push, field for field as docs/wechat-api.md §7.3–7.5 lists them: strings in CDATA,
/// numbers bare, as WeChat writes them.
/// </summary>
internal static class PushMessages
{
    /// <summary>
    /// OA subscribe / unsubscribe / SCAN: ToUserName is the OA's gh_ id, FromUserName the openid. A follow through a
    /// parametric QR code adds EventKey <c>qrscene_&lt;scene&gt;</c> and Ticket; a follower scanning one gets
    /// Event <c>SCAN</c> with EventKey <c>&lt;scene&gt;</c> (no prefix) and Ticket.
    /// </summary>
    public static string OfficialAccountEvent(string originalId, string openid, long createTime, string @event, string? eventKey = null, string? ticket = null)
    {
        var xml = new XmlBuilder().Text("ToUserName", originalId).Text("FromUserName", openid).Number("CreateTime", createTime)
            .Text("MsgType", "event").Text("Event", @event);
        if (eventKey is not null)
        {
            xml = xml.Text("EventKey", eventKey).Text("Ticket", ticket ?? QrTicketOf(originalId, eventKey));
        }
        return xml.Build();
    }

    /// <summary>A stable ticket for a scene given without qrcode/create (the control API's qr_scene_str shortcut).</summary>
    public static string QrTicketOf(string originalId, string scene) =>
        "gQ" + Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("qr:" + originalId + ":" + scene)))
            .Replace('+', '-').Replace('/', '_').TrimEnd('=');

    /// <summary>agree_external_userid_migration (suite callback): the corp admin agreed to the provider's id upgrade.</summary>
    public static string AgreeExternalUserIdMigration(string serviceCorpId, string authCorpId, long timestamp) =>
        new XmlBuilder().Text("ServiceCorpId", serviceCorpId).Text("AuthCorpId", authCorpId).Text("InfoType", "agree_external_userid_migration")
            .Number("TimeStamp", timestamp).Build();

    /// <summary>Third-party platform INFO event (§7.4).</summary>
    public static string ComponentInfo(string componentAppid, long createTime, string infoType, params (string Name, object Value)[] fields)
    {
        var xml = new XmlBuilder().Text("AppId", componentAppid).Number("CreateTime", createTime).Text("InfoType", infoType);
        foreach (var (name, value) in fields)
        {
            xml = value is long n ? xml.Number(name, n) : xml.Text(name, Convert.ToString(value, CultureInfo.InvariantCulture) ?? "");
        }
        return xml.Build();
    }

    /// <summary>change_external_contact for a self-built app (§7.5): ToUserName corpid, FromUserName sys.</summary>
    public static string SelfBuiltContactChange(string corpid, long createTime, string changeType, string userId, string externalUserId,
        string? state, string? welcomeCode)
    {
        var xml = new XmlBuilder().Text("ToUserName", corpid).Text("FromUserName", "sys").Number("CreateTime", createTime)
            .Text("MsgType", "event").Text("Event", "change_external_contact").Text("ChangeType", changeType)
            .Text("UserID", userId).Text("ExternalUserID", externalUserId);
        return WithAddFields(xml, changeType, state, welcomeCode).Build();
    }

    /// <summary>change_external_contact for a third-party / 代开发 suite (§7.5): SuiteId, AuthCorpId, InfoType, TimeStamp.</summary>
    public static string SuiteContactChange(string suiteId, string authCorpId, long timestamp, string changeType, string userId,
        string externalUserId, string? state, string? welcomeCode)
    {
        var xml = new XmlBuilder().Text("SuiteId", suiteId).Text("AuthCorpId", authCorpId).Text("InfoType", "change_external_contact")
            .Number("TimeStamp", timestamp).Text("ChangeType", changeType).Text("UserID", userId).Text("ExternalUserID", externalUserId);
        return WithAddFields(xml, changeType, state, welcomeCode).Build();
    }

    /// <summary>suite_ticket (WeCom 指令回调, every 10 minutes): SuiteId, InfoType, TimeStamp, SuiteTicket.</summary>
    public static string SuiteTicket(string suiteId, long timestamp, string ticket) =>
        new XmlBuilder().Text("SuiteId", suiteId).Text("InfoType", "suite_ticket").Number("TimeStamp", timestamp).Text("SuiteTicket", ticket).Build();

    private static XmlBuilder WithAddFields(XmlBuilder xml, string changeType, string? state, string? welcomeCode)
    {
        if (changeType == "del_external_contact" && state is not null)
        {
            // Source=DELETE_BY_TRANSFER when a transfer caused the deletion (the value is unconfirmed upstream).
            return xml.Text("Source", state);
        }
        if (changeType is "add_external_contact" or "add_half_external_contact")
        {
            if (state is not null)
            {
                xml = xml.Text("State", state);
            }
            if (welcomeCode is not null)
            {
                xml = xml.Text("WelcomeCode", welcomeCode);
            }
        }
        return xml;
    }

    private sealed class XmlBuilder
    {
        private readonly StringBuilder _sb = new("<xml>");

        public XmlBuilder Text(string name, string value)
        {
            _sb.Append('<').Append(name).Append("><![CDATA[").Append(value.Replace("]]>", "]]]]><![CDATA[>", StringComparison.Ordinal))
                .Append("]]></").Append(name).Append('>');
            return this;
        }

        public XmlBuilder Number(string name, long value)
        {
            _sb.Append('<').Append(name).Append('>').Append(value.ToString(CultureInfo.InvariantCulture)).Append("</").Append(name).Append('>');
            return this;
        }

        public string Build() => _sb.Append("</xml>").ToString();
    }
}

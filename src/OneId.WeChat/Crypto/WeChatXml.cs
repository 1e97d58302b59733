using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace OneId.WeChat.Crypto;

/// <summary>
/// Parses callback bodies safely: DTDs prohibited (so no entity expansion or external entities), no resolver, a size limit.
/// WeChat's bodies are tiny flat documents (<c>&lt;xml&gt;&lt;ToUserName/&gt;&lt;Encrypt/&gt;&lt;/xml&gt;</c>, §7.2), so anything
/// else is refused with a distinct <see cref="WeChatCryptoError"/>.
/// </summary>
public static class WeChatXml
{
    /// <summary>Default body limit: 64 KiB. WeChat's pushes are a few KB; the limit only has to stop abuse.</summary>
    public const int DefaultMaxBytes = 64 * 1024;

    /// <summary>Parses <paramref name="xml"/>; throws <see cref="WeChatCryptoException"/> on oversize, DTD or malformed input.</summary>
    public static WeChatXmlMessage Parse(string xml, int maxBytes = DefaultMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(xml);
        if (Encoding.UTF8.GetByteCount(xml) > maxBytes)
        {
            throw TooLarge(maxBytes);
        }
        // DtdProcessing.Prohibit makes the reader stop at a DOCTYPE: WeChat never sends one, and it is how XXE and
        // billion-laughs start. A plain text search would be wrong: a user's chat message may contain "<!DOCTYPE" in CDATA.
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersInDocument = maxBytes,
            MaxCharactersFromEntities = 1024,
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
            CloseInput = true,
        };
        try
        {
            using var reader = XmlReader.Create(new StringReader(xml), settings);
            var document = XDocument.Load(reader, LoadOptions.None);
            return new WeChatXmlMessage(document.Root ?? throw new XmlException("no root element"));
        }
        catch (XmlException ex) when (ex.Message.Contains("DTD", StringComparison.OrdinalIgnoreCase))
        {
            throw Dtd(ex);
        }
        catch (XmlException ex)
        {
            throw new WeChatCryptoException(WeChatCryptoError.InvalidXml,
                $"The callback body is not well-formed XML (line {ex.LineNumber}, position {ex.LinePosition}).", ex);
        }
    }

    /// <summary>
    /// Reads a request body up to <paramref name="maxBytes"/> (refusing longer bodies without buffering them) and parses it.
    /// </summary>
    public static async Task<WeChatXmlMessage> ReadAsync(Stream body, int maxBytes = DefaultMaxBytes, CancellationToken cancellationToken = default) =>
        Parse(await ReadBodyAsync(body, maxBytes, cancellationToken).ConfigureAwait(false), maxBytes);

    /// <summary>Reads a UTF-8 body of at most <paramref name="maxBytes"/>; throws <see cref="WeChatCryptoError.BodyTooLarge"/> beyond.</summary>
    public static async Task<string> ReadBodyAsync(Stream body, int maxBytes = DefaultMaxBytes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        var buffer = new byte[maxBytes + 1];
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await body.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }
            total += read;
        }
        if (total > maxBytes)
        {
            throw TooLarge(maxBytes);
        }
        return Encoding.UTF8.GetString(buffer, 0, total);
    }

    private static WeChatCryptoException TooLarge(int maxBytes) =>
        new(WeChatCryptoError.BodyTooLarge, $"The callback body is larger than {maxBytes} bytes; WeChat's pushes are a few KB.");

    private static WeChatCryptoException Dtd(Exception inner) =>
        new(WeChatCryptoError.DtdProhibited, "The callback body contains a DOCTYPE or entity declaration; WeChat never sends one, so it is refused.", inner);
}

/// <summary>A parsed callback body: the root element with helpers for WeChat's flat child elements.</summary>
public sealed class WeChatXmlMessage
{
    internal WeChatXmlMessage(XElement root) => Root = root;

    /// <summary>The root element (<c>&lt;xml&gt;</c>).</summary>
    public XElement Root { get; }

    /// <summary>The text of the direct child element <paramref name="name"/> (CDATA unwrapped), or null when absent.</summary>
    public string? this[string name] => Root.Element(name)?.Value;

    /// <summary>The text of a required child element; throws <see cref="WeChatCryptoError.MissingElement"/> when absent.</summary>
    public string GetRequired(string name) =>
        this[name] ?? throw new WeChatCryptoException(WeChatCryptoError.MissingElement, $"The callback body has no <{name}> element.");

    /// <summary>All direct child elements as name → text (later duplicates win).</summary>
    public IReadOnlyDictionary<string, string> ToDictionary()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var element in Root.Elements())
        {
            result[element.Name.LocalName] = element.Value;
        }
        return result;
    }

    public override string ToString() => Root.ToString(SaveOptions.DisableFormatting);
}

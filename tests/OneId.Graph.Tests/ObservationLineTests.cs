using System.Text;
using FluentAssertions;
using FsCheck;
using FsCheck.Fluent;
using OneId.Graph;
using Xunit;

namespace OneId.Graph.Tests;

public sealed class ObservationLineTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private const string Open = "openid:wx00000000000000b2:oAliceOaAliceOaAliceOaAlice1";
    private const string Union = "unionid:acme:oAliceUnionAliceUnionAlice01";

    private static Observation Parse(string line, DateTimeOffset? now = null)
    {
        ObservationLine.TryParse(Encoding.UTF8.GetBytes(line), now ?? Now, out var observation, out var error).Should().BeTrue(error);
        return observation!;
    }

    [Fact]
    public void A_line_with_an_id_is_keyed_by_it()
    {
        Parse($$$"""{"id":"crm-42","ids":["{{{Open}}}"]}""").Key.Should().Be("id:crm-42");
    }

    [Fact]
    public void A_line_without_an_id_is_keyed_by_its_canonical_content()
    {
        var key = Parse($$$"""{"ids":["{{{Open}}}","{{{Union}}}"],"source":"crm","at":"2024-05-01T10:00:00Z","profile":{"nickname":"A","city":"B"}}""").Key;

        key.Should().StartWith("sha256:");
        Parse($$$"""{"profile":{"city":"B","nickname":"A"},"at":"2024-05-01T18:00:00+08:00","source":"crm","ids":["{{{Union}}}","{{{Open}}}"]}""").Key
            .Should().Be(key, "order of ids, fields and profile attributes and the spelling of the instant do not matter");
        Parse($$$"""{"ids":["{{{Open}}}","{{{Union}}}"],"source":"crm","at":"2024-05-01T10:00:01Z","profile":{"nickname":"A","city":"B"}}""").Key.Should().NotBe(key);
        Parse($$$"""{"ids":["{{{Open}}}","{{{Union}}}"],"source":"web","at":"2024-05-01T10:00:00Z","profile":{"nickname":"A","city":"B"}}""").Key.Should().NotBe(key);
        Parse($$$"""{"ids":["{{{Open}}}","{{{Union}}}"],"source":"crm","at":"2024-05-01T10:00:00Z","profile":{"nickname":"C","city":"B"}}""").Key.Should().NotBe(key);
        Parse($$$"""{"ids":["{{{Open}}}"],"source":"crm","at":"2024-05-01T10:00:00Z","profile":{"nickname":"A","city":"B"}}""").Key.Should().NotBe(key);
        Parse($$$"""{"ids":["{{{Open}}}","{{{Union}}}"],"replaces":{"{{{Open}}}":"openid:wx00000000000000b2:oAliceOldAliceOldAliceOld01"},"source":"crm","at":"2024-05-01T10:00:00Z","profile":{"nickname":"A","city":"B"}}""").Key.Should().NotBe(key);
    }

    [Fact]
    public void A_line_without_at_has_the_same_key_whenever_it_is_read()
    {
        var line = $$$"""{"ids":["{{{Open}}}"]}""";
        Parse(line, Now).Key.Should().Be(Parse(line, Now.AddDays(3)).Key);
    }

    [Theory]
    [InlineData("""{"id":"","ids":["openid:wx00000000000000b2:oAliceOaAliceOaAliceOaAlice1"]}""")]
    [InlineData("""{"id":42,"ids":["openid:wx00000000000000b2:oAliceOaAliceOaAliceOaAlice1"]}""")]
    [InlineData("""{"id":"a\u0000b","ids":["openid:wx00000000000000b2:oAliceOaAliceOaAliceOaAlice1"]}""")]
    public void A_bad_id_is_refused(string line)
    {
        ObservationLine.TryParse(Encoding.UTF8.GetBytes(line), Now, out _, out var error).Should().BeFalse();
        error.Should().Contain("\"id\"");
    }

    /// <summary>Any bytes at all: a parsed observation or a one-line reason, never an exception.</summary>
    [Fact]
    public void Any_bytes_give_an_observation_or_a_clear_refusal()
    {
        // Raw bytes, and near-misses built from pieces of valid lines (so that the parser gets past the JSON syntax).
        var pieces = new[]
        {
            "{", "}", "[", "]", ",", ":", "\"ids\"", "\"id\"", "\"at\"", "\"source\"", "\"profile\"", "\"replaces\"", $"\"{Open}\"", $"\"{Union}\"",
            "\"phone::+8613800000000\"", "\"openid:wx1:\"", "null", "1e309", "-0", "true", "\"2024-05-01T10:00:00Z\"", "\"\\u0000\"", "\"\\ud800\"",
            "\"x\"", "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{}}}}}}}}}",
        };
        var near = Gen.ArrayOf(Gen.Elements(pieces)).Select(p => Encoding.UTF8.GetBytes(string.Concat(p)));
        var raw = Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>());
        var shaped = Gen.Elements(pieces).ArrayOf().Select(p => Encoding.UTF8.GetBytes("{\"ids\":[" + string.Join(',', p) + "]}"));
        Prop.ForAll(Gen.OneOf(near, raw, shaped).ToArbitrary(), bytes =>
        {
            var ok = ObservationLine.TryParse(bytes, Now, out var observation, out var error);
            return ok ? observation is { Key: not null } && error is null : observation is null && !string.IsNullOrWhiteSpace(error) && !error.Contains('\n');
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(3000));
    }

    [Fact]
    public void Invalid_utf8_inside_a_string_is_refused()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"ids\":[\"openid:wx00000000000000b2:o\u00ff\"]}");
        bytes[^4] = 0xff;
        ObservationLine.TryParse(bytes, Now, out _, out var error).Should().BeFalse();
        error.Should().NotBeNullOrWhiteSpace();
    }

    private const string OldExt = "external_userid:ww01/isv1:wmOLD0001";
    private const string NewExt = "external_userid:ww01/isv1:wmNEW0001";

    [Fact]
    public void Replaces_is_a_map_from_new_to_old()
    {
        var o = Parse($$$"""{"ids":["{{{NewExt}}}"],"replaces":{"{{{NewExt}}}":"{{{OldExt}}}"}}""");

        o.Replacements.Should().Equal(new Replacement(Identifier.Parse(OldExt), Identifier.Parse(NewExt)));
        o.Identifiers.Select(i => i.ToString()).Should().BeEquivalentTo(NewExt, OldExt);
    }

    [Fact]
    public void The_key_of_a_line_with_replaces_is_stable_and_differs_from_the_same_ids_without()
    {
        var with = Parse($$$"""{"ids":["{{{NewExt}}}","{{{Union}}}"],"replaces":{"{{{NewExt}}}":"{{{OldExt}}}"}}""").Key;

        Parse($$$"""{"replaces":{"{{{NewExt}}}":"{{{OldExt}}}"},"ids":["{{{Union}}}","{{{NewExt}}}"]}""").Key.Should().Be(with);
        Parse($$$"""{"ids":["{{{NewExt}}}","{{{Union}}}"]}""").Key.Should().NotBe(with);
        Parse($$$"""{"ids":["{{{NewExt}}}","{{{Union}}}"],"replaces":{}}""").Key.Should().Be(Parse($$$"""{"ids":["{{{NewExt}}}","{{{Union}}}"]}""").Key,
            "an empty map says nothing");
        // A line without replaces keeps the key it had before replaces existed.
        Parse($$$"""{"ids":["{{{Open}}}"]}""").Key.Should().Be("sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            Encoding.UTF8.GetBytes($$$"""{"ids":["{{{Open}}}"],"source":"import","profile":[]}"""))));
    }

    [Theory]
    [InlineData("""["external_userid:ww01/isv1:wmOLD0001"]""", "must be an object mapping each new identifier")]
    [InlineData("""{"external_userid:ww01/isv1:wmNEW0001":42}""", "must be an object mapping each new identifier")]
    [InlineData("""{"external_userid:ww01/isv1:wmNEW0001":"nonsense"}""", "replaces\" value:")]
    [InlineData("""{"bad":"external_userid:ww01/isv1:wmOLD0001"}""", "replaces\" key:")]
    [InlineData("""{"external_userid:ww01/isv1:wmOTHER01":"external_userid:ww01/isv1:wmOLD0001"}""", "must also be in \"ids\"")]
    [InlineData("""{"external_userid:ww01/isv1:wmNEW0001":"external_userid:ww01/isv1:wmNEW0001"}""", "itself")]
    [InlineData("""{"external_userid:ww01/isv1:wmNEW0001":"pending_id:ww01/isv1:pOLD0001"}""", "keeps the type")]
    [InlineData("""{"external_userid:ww01/isv1:wmNEW0001":"external_userid:ww01/isv1:wmOLD0001","external_userid:ww01/isv1:wmNEW0001":"external_userid:ww01/isv1:wmOLD0002"}""", "twice")]
    public void A_bad_replaces_is_refused_with_a_one_line_reason(string replaces, string reason)
    {
        var line = $$$"""{"ids":["{{{NewExt}}}"],"replaces":{{{replaces}}}}""";

        ObservationLine.TryParse(Encoding.UTF8.GetBytes(line), Now, out var observation, out var error).Should().BeFalse();
        observation.Should().BeNull();
        error.Should().Contain(reason).And.NotContain("\n");
    }
}

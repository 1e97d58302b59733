using FluentAssertions;
using OneId.Graph;
using Xunit;

namespace OneId.Graph.Tests;

public sealed class IdentifierTests
{
    [Theory]
    [InlineData("openid:wx4f4bc4dec97d474b:oGZUI0egBJY1zhBYw2KhdUfwVJJE", "openid", "wx4f4bc4dec97d474b", "oGZUI0egBJY1zhBYw2KhdUfwVJJE")]
    [InlineData("unionid:acme:ocMvos6NjeKLIBqg5Mr9QjxrP1FA", "unionid", "acme", "ocMvos6NjeKLIBqg5Mr9QjxrP1FA")]
    [InlineData("external_userid:ww4asffe99e54c0f4c:wmHh4aBgAAn2OCsH2JWLKhZ006jfawcQ", "external_userid", "ww4asffe99e54c0f4c", "wmHh4aBgAAn2OCsH2JWLKhZ006jfawcQ")]
    [InlineData("external_userid:wpeLYSDAAAKOr67pu-1-HMtwJTV5dkLQ/isv1:wmAbCdEfGh", "external_userid", "wpeLYSDAAAKOr67pu-1-HMtwJTV5dkLQ/isv1", "wmAbCdEfGh")]
    [InlineData("pending_id:ww4asffe99e54c0f4c:pAAAAA", "pending_id", "ww4asffe99e54c0f4c", "pAAAAA")]
    [InlineData("account:shop:10086", "account", "shop", "10086")]
    [InlineData("account:shop:a:b", "account", "shop", "a:b")]
    [InlineData("phone::+8613800000000", "phone", "", "+8613800000000")]
    public void Parses_type_namespace_value_and_prints_it_back(string text, string type, string ns, string value)
    {
        var id = Identifier.Parse(text);

        id.Type.Name.Should().Be(type);
        id.Namespace.Should().Be(ns);
        id.Value.Should().Be(value);
        id.ToString().Should().Be(text);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("openid", "not type:namespace:value")]
    [InlineData("email:x:a@b.c", "unknown identifier type")]
    [InlineData("openid:wx4f4bc4dec97d474b:", "blocked")]
    [InlineData("openid:wx4f4bc4dec97d474b:   ", "blocked")]
    [InlineData("openid:wx4f4bc4dec97d474b:null", "blocked")]
    [InlineData("openid:wx4f4bc4dec97d474b:undefined", "blocked")]
    [InlineData("unionid:acme:NULL", "blocked")]
    [InlineData("account:shop:0", "blocked")]
    [InlineData("openid:WX4F4BC4DEC97D474B:oGZUI0egBJY1zhBYw2KhdUfwVJJE", "namespace")]
    [InlineData("openid:acme:oGZUI0egBJY1zhBYw2KhdUfwVJJE", "namespace")]
    [InlineData("openid:wx4f4bc4dec97d474b:o GZ", "value")]
    [InlineData("unionid::ocMvos6NjeKLIBqg5Mr9QjxrP1FA", "namespace")]
    [InlineData("phone:cn:+8613800000000", "namespace")]
    [InlineData("phone::138-0000", "value")]
    [InlineData("account:shop: padded", "value")]
    public void Refuses_unknown_types_blocked_values_and_wrong_shapes_with_a_reason(string text, string reason)
    {
        Identifier.TryParse(text, out _, out var error).Should().BeFalse();
        error.Should().Contain(reason);
        var parse = () => Identifier.Parse(text);
        parse.Should().Throw<FormatException>();
    }

    [Fact]
    public void Values_are_case_sensitive_and_never_recased()
    {
        var a = Identifier.Parse("external_userid:wpCorp:wmABCDEF");
        var b = Identifier.Parse("external_userid:wpCorp:wmabcdef");

        a.Should().NotBe(b);
        a.Value.Should().Be("wmABCDEF");
    }

    [Fact]
    public void Only_phones_are_weak()
    {
        IdentifierType.All.Where(t => !t.IsExclusive).Should().Equal(IdentifierType.Phone);
    }

    [Fact]
    public void Person_ids_round_trip_and_reject_junk()
    {
        PersonId.TryParse(new PersonId(42).ToString(), out var id).Should().BeTrue();
        id.Value.Should().Be(42);
        PersonId.TryParse("p_0", out _).Should().BeFalse();
        PersonId.TryParse("42", out _).Should().BeFalse();
        PersonId.TryParse("p_-3", out _).Should().BeFalse();
    }
}

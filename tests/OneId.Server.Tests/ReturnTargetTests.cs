using FluentAssertions;
using OneId.Server.Security;
using Xunit;

namespace OneId.Server.Tests;

public sealed class ReturnTargetTests
{
    private static readonly Uri Hub = new("https://id.acme.example/");
    private static readonly string[] Allowed = ["https://shop.acme.example", "http://localhost:3000"];

    private static string? Resolve(string returnTo) =>
        ReturnTarget.TryResolve(returnTo, Hub, Allowed, out var target, out _) ? target.AbsoluteUri : null;

    [Theory]
    [InlineData("/welcome", "https://id.acme.example/welcome")]
    [InlineData("/a/b?x=1#top", "https://id.acme.example/a/b?x=1#top")]
    [InlineData("/é", "https://id.acme.example/%C3%A9")]
    [InlineData("/中文", "https://id.acme.example/%E4%B8%AD%E6%96%87")]
    [InlineData("/%2F%2Fevil.example", "https://id.acme.example/%2F%2Fevil.example")]
    [InlineData("https://shop.acme.example/cart", "https://shop.acme.example/cart")]
    [InlineData("HTTPS://SHOP.acme.example/cart", "https://shop.acme.example/cart")]
    [InlineData("http://localhost:3000/", "http://localhost:3000/")]
    [InlineData("https://id.acme.example/x", "https://id.acme.example/x")]
    public void Paths_on_the_hub_and_allowed_origins_pass_percent_encoded(string returnTo, string expected)
    {
        Resolve(returnTo).Should().Be(expected);
    }

    [Theory]
    [InlineData("/\t/evil.example/steal")] // the browser drops the tab: //evil.example/steal
    [InlineData("/\n/evil.example")]
    [InlineData("//evil.example/")]
    [InlineData("/\\evil.example")]
    [InlineData("\\\\evil.example")]
    [InlineData(" //evil.example")]
    [InlineData("https://evil.example/")]
    [InlineData("https://shop.acme.example.evil.example/")]
    [InlineData("https://shop.acme.example@evil.example/")]
    [InlineData("http://shop.acme.example/")] // another scheme is another origin
    [InlineData("https://shop.acme.example:8443/")]
    [InlineData("https:evil.example")]
    [InlineData("javascript:alert(1)")]
    [InlineData("data:text/html,hi")]
    [InlineData("welcome")]
    [InlineData("/\r\nSet-Cookie: x=1")]
    [InlineData("/a\u0000b")]
    [InlineData("")]
    public void Anything_else_is_refused_with_a_reason(string returnTo)
    {
        ReturnTarget.TryResolve(returnTo, Hub, Allowed, out var target, out var error).Should().BeFalse($"{returnTo} resolved to {target}");
        error.Should().NotBeNullOrWhiteSpace();
    }

    [Fact]
    public void A_very_long_return_to_is_refused()
    {
        ReturnTarget.TryResolve("/" + new string('a', ReturnTarget.MaxLength), Hub, Allowed, out _, out var error).Should().BeFalse();
        error.Should().Contain("longer");
    }

    [Theory]
    [InlineData("https://shop.acme.example", true)]
    [InlineData("http://localhost:3000", true)]
    [InlineData("https://shop.acme.example/", true)]
    [InlineData("https://shop.acme.example/cart", false)]
    [InlineData("ftp://shop.acme.example", false)]
    [InlineData("shop.acme.example", false)]
    public void Allow_list_entries_are_origins(string origin, bool ok)
    {
        ReturnTarget.IsOrigin(origin).Should().Be(ok);
    }
}

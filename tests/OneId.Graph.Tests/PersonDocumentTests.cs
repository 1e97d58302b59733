using FluentAssertions;
using OneId.Graph;
using Xunit;

namespace OneId.Graph.Tests;

public sealed class PersonDocumentTests
{
    private static readonly Person Person = new(
        new PersonId(7),
        [new PersonId(9)],
        [Identifier.Parse("openid:wx00000000000000a1:oAAAAAA1"), Identifier.Parse("phone::+8613800000000")],
        [ProfilePolicy.Attribute("nickname", "Ann"), ProfilePolicy.Attribute("remark", "vip")],
        DateTimeOffset.UnixEpoch);

    [Fact]
    public void All_tiers_see_everything()
    {
        var doc = PersonDocument.From(Person, PersonDocument.AllTiers);

        doc.Id.Should().Be("p_7");
        doc.Aliases.Should().Equal("p_9");
        doc.Identifiers.Should().HaveCount(2);
        doc.Profile.Should().ContainKeys("nickname", "remark");
    }

    [Fact]
    public void Internal_callers_get_ids_but_no_phone_and_no_profile()
    {
        var doc = PersonDocument.From(Person, new HashSet<DataTier> { DataTier.Internal });

        doc.Identifiers.Should().Equal("openid:wx00000000000000a1:oAAAAAA1");
        doc.Profile.Should().BeNull();
    }

    [Fact]
    public void Private_without_internal_sees_the_profile_and_phone_but_not_internal_attributes_or_ids()
    {
        var doc = PersonDocument.From(Person, new HashSet<DataTier> { DataTier.Private });

        doc.Identifiers.Should().Equal("phone::+8613800000000");
        doc.Profile.Should().ContainKey("nickname").And.NotContainKey("remark");
    }
}

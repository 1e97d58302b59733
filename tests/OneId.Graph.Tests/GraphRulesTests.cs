using FluentAssertions;
using OneId.Graph;
using Xunit;

namespace OneId.Graph.Tests;

public sealed class GraphRulesTests
{
    private static readonly DateTimeOffset At = new(2024, 5, 1, 0, 0, 0, TimeSpan.Zero);
    private static Identifier I(string s) => Identifier.Parse(s);
    private static Observation Obs(params string[] ids) => new(ids.Select(I), "t", At);

    private const string OpenA1 = "openid:wx00000000000000a1:oAAAAAA1";
    private const string OpenA2 = "openid:wx00000000000000a1:oAAAAAA2";
    private const string OpenB1 = "openid:wx00000000000000b2:oBBBBBB1";
    private const string Union1 = "unionid:acme:oUUUUUU1";

    [Fact]
    public void Nobody_holding_the_ids_means_a_new_person()
    {
        var decision = GraphRules.Decide(Obs(OpenA1, Union1), []);

        decision.Should().BeOfType<ObservationDecision.Accepted>().Which.Survivor.Should().BeNull();
    }

    [Fact]
    public void The_lowest_person_id_survives_a_merge_and_only_new_ids_are_added()
    {
        var holders = new[]
        {
            new PersonState(new PersonId(9), [I(OpenB1)]),
            new PersonState(new PersonId(3), [I(OpenA1)]),
        };

        var accepted = GraphRules.Decide(Obs(OpenA1, OpenB1, Union1), holders).Should().BeOfType<ObservationDecision.Accepted>().Subject;

        accepted.Survivor.Should().Be(new PersonId(3));
        accepted.Absorbed.Should().Equal(new PersonId(9));
        accepted.NewIdentifiers.Should().Equal(I(Union1));
    }

    [Fact]
    public void Two_values_in_one_exclusive_namespace_reject_the_observation_naming_the_persons()
    {
        var holders = new[] { new PersonState(new PersonId(5), [I(OpenA1), I(Union1)]) };

        var rejected = GraphRules.Decide(Obs(OpenA2, Union1), holders).Should().BeOfType<ObservationDecision.Rejected>().Subject;

        rejected.Conflicts.Should().ContainSingle();
        rejected.Conflicts[0].Values.Should().Equal("oAAAAAA1", "oAAAAAA2");
        rejected.Conflicts[0].Persons.Should().Equal(new PersonId(5));
    }

    [Fact]
    public void An_observation_that_itself_holds_two_openids_of_one_app_is_rejected()
    {
        GraphRules.Decide(Obs(OpenA1, OpenA2), []).Should().BeOfType<ObservationDecision.Rejected>();
    }

    [Fact]
    public void Weak_only_observations_link_nothing()
    {
        GraphRules.Decide(Obs("phone::+8613800000000"), []).Should().BeOfType<ObservationDecision.LinksNothing>();
    }

    [Fact]
    public void Components_split_where_no_observation_joins_the_ids_and_carry_weak_ids_along()
    {
        var records = new[]
        {
            new ObservationRecord(new ObservationId(1), [I(OpenA1)], "t", At, [], ObservationStatus.Accepted),
            new ObservationRecord(new ObservationId(2), [I(OpenB1), I(Union1), I("phone::+8613800000000")], "t", At, [], ObservationStatus.Accepted),
            new ObservationRecord(new ObservationId(3), [I("phone::+8613800000001")], "t", At, [], ObservationStatus.Accepted),
        };

        var components = GraphRules.Components(records);

        components.Should().HaveCount(2);
        components[0].Observations.Should().Equal(new ObservationId(1));
        components[1].Identifiers.Should().Contain(I("phone::+8613800000000"));
        components.SelectMany(c => c.Identifiers).Should().NotContain(I("phone::+8613800000001"));
    }

    [Fact]
    public void Placeholder_profiles_are_dropped_and_unknown_attributes_are_private()
    {
        var o = new Observation([I(OpenA1)], "t", At,
        [
            ProfilePolicy.Attribute("nickname", "微信用户"),
            ProfilePolicy.Attribute("headimgurl", ""),
            ProfilePolicy.Attribute("sex", "0"),
            ProfilePolicy.Attribute("city", "Shenzhen"),
            ProfilePolicy.Attribute("favourite_colour", "red"),
        ]);

        o.Profile.Select(a => a.Name).Should().BeEquivalentTo("city", "favourite_colour");
        ProfilePolicy.TierOf("favourite_colour").Should().Be(DataTier.Private);
        ProfilePolicy.TierOf("appid").Should().Be(DataTier.Public);
    }

    [Fact]
    public void Merging_two_persons_kept_apart_is_rejected_as_a_keep_apart_conflict()
    {
        var holders = new[]
        {
            new PersonState(new PersonId(3), [I(OpenA1)]),
            new PersonState(new PersonId(9), [I(OpenB1)]),
        };

        var rejected = GraphRules.Decide(Obs(OpenA1, OpenB1), holders, [new KeptApart(new PersonId(9), new PersonId(3))])
            .Should().BeOfType<ObservationDecision.Rejected>().Subject;

        rejected.Conflicts.Should().ContainSingle().Which.Should().Match<Conflict>(c => c.IsKeepApart && c.Persons.SequenceEqual(new[] { new PersonId(3), new PersonId(9) }));
        rejected.Conflicts[0].ToString().Should().Be("persons p_3 and p_9 are kept apart");
    }

    [Fact]
    public void A_keep_apart_constraint_naming_other_persons_changes_nothing()
    {
        var holders = new[]
        {
            new PersonState(new PersonId(3), [I(OpenA1)]),
            new PersonState(new PersonId(9), [I(OpenB1)]),
        };

        GraphRules.Decide(Obs(OpenA1, OpenB1), holders, [new KeptApart(new PersonId(3), new PersonId(4))])
            .Should().BeOfType<ObservationDecision.Accepted>().Which.Absorbed.Should().Equal(new PersonId(9));
        GraphRules.Decide(Obs(OpenA1, Union1), [holders[0]], [new KeptApart(new PersonId(3), new PersonId(9))])
            .Should().BeOfType<ObservationDecision.Accepted>("a single holder merges nobody");
    }
}

using FluentAssertions;
using OneId.Graph;
using Xunit;

namespace OneId.Graph.Tests;

/// <summary>docs/model.md §3.9: B replaces A.</summary>
public sealed class ReplacementRulesTests
{
    private static readonly DateTimeOffset At = new(2024, 5, 1, 0, 0, 0, TimeSpan.Zero);
    private static Identifier I(string s) => Identifier.Parse(s);

    private const string OldOpen = "openid:wx00000000000000a1:oOLDOLD1";
    private const string NewOpen = "openid:wx00000000000000d4:oNEWNEW1";
    private const string OldExt = "external_userid:ww01/isv1:wmOLD0001";
    private const string NewExt = "external_userid:ww01/isv1:wmNEW0001";
    private const string NewerExt = "external_userid:ww01/isv1:wmNEWER01";
    private const string Union1 = "unionid:acme:oUUUUUU1";
    private const string Union2 = "unionid:acme:oUUUUUU2";

    private static Observation Replacing(string @new, string old, params string[] more) =>
        new(more.Append(@new).Select(I), "t", At, null, [new Replacement(I(old), I(@new))]);

    [Fact]
    public void The_old_identifier_joins_the_observation_so_it_links_to_whoever_holds_it()
    {
        var o = Replacing(NewExt, OldExt);

        o.Identifiers.Should().Contain([I(NewExt), I(OldExt)]);
        o.Exclusive.Should().HaveCount(2);
    }

    [Fact]
    public void A_replacement_in_the_old_identifiers_namespace_is_accepted_and_marked()
    {
        var holders = new[] { new PersonState(new PersonId(4), [I(OldExt), I(Union1)]) };

        var accepted = GraphRules.Decide(Replacing(NewExt, OldExt), holders).Should().BeOfType<ObservationDecision.Accepted>().Subject;

        accepted.Survivor.Should().Be(new PersonId(4));
        accepted.NewIdentifiers.Should().Equal(I(NewExt));
        accepted.Replaced.Should().Equal(new Replacement(I(OldExt), I(NewExt)));
    }

    [Fact]
    public void Without_the_replacement_the_same_two_values_conflict()
    {
        var holders = new[] { new PersonState(new PersonId(4), [I(OldExt)]) };

        GraphRules.Decide(new Observation([I(OldExt), I(NewExt)], "t", At), holders).Should().BeOfType<ObservationDecision.Rejected>();
    }

    [Fact]
    public void A_replaced_identifier_no_longer_occupies_its_namespace()
    {
        var holders = new[] { new PersonState(new PersonId(4), [I(OldExt), I(NewExt)]) { Replaced = [I(OldExt)] } };

        // The old id named again beside the new one, or a chain's next link: neither conflicts.
        GraphRules.Decide(new Observation([I(OldExt), I(NewExt), I(Union1)], "t", At), holders).Should().BeOfType<ObservationDecision.Accepted>()
            .Which.Replaced.Should().BeEmpty();
        GraphRules.Decide(Replacing(NewerExt, NewExt), holders).Should().BeOfType<ObservationDecision.Accepted>()
            .Which.Replaced.Should().Equal(new Replacement(I(NewExt), I(NewerExt)));
        // But the current id still does: a third value is a conflict with it.
        GraphRules.Decide(new Observation([I(NewExt), I(NewerExt)], "t", At), holders).Should().BeOfType<ObservationDecision.Rejected>()
            .Which.Conflicts.Single().Values.Should().Equal("wmNEW0001", "wmNEWER01");
    }

    [Fact]
    public void A_replacement_already_marked_is_not_marked_again()
    {
        var holders = new[] { new PersonState(new PersonId(4), [I(OldExt), I(NewExt)]) { Replaced = [I(OldExt)] } };

        GraphRules.Decide(Replacing(NewExt, OldExt), holders).Should().BeOfType<ObservationDecision.Accepted>().Which.Replaced.Should().BeEmpty();
    }

    [Fact]
    public void A_new_identifier_held_by_another_person_merges_them_and_the_older_survives()
    {
        var holders = new[]
        {
            new PersonState(new PersonId(7), [I(NewOpen)]),
            new PersonState(new PersonId(2), [I(OldOpen), I(Union1)]),
        };

        var accepted = GraphRules.Decide(Replacing(NewOpen, OldOpen), holders).Should().BeOfType<ObservationDecision.Accepted>().Subject;

        accepted.Survivor.Should().Be(new PersonId(2));
        accepted.Absorbed.Should().Equal(new PersonId(7));
        accepted.Replaced.Should().ContainSingle();
    }

    [Fact]
    public void A_replacement_is_still_rejected_for_a_clash_in_another_namespace()
    {
        var holders = new[]
        {
            new PersonState(new PersonId(1), [I(OldOpen), I(Union1)]),
            new PersonState(new PersonId(2), [I(NewOpen), I(Union2)]),
        };

        GraphRules.Decide(Replacing(NewOpen, OldOpen), holders).Should().BeOfType<ObservationDecision.Rejected>()
            .Which.Conflicts.Should().ContainSingle().Which.Type.Should().Be("unionid");
    }

    [Fact]
    public void A_replacement_merging_persons_kept_apart_is_rejected()
    {
        var holders = new[]
        {
            new PersonState(new PersonId(1), [I(OldOpen)]),
            new PersonState(new PersonId(2), [I(NewOpen)]),
        };

        GraphRules.Decide(Replacing(NewOpen, OldOpen), holders, [new KeptApart(new PersonId(1), new PersonId(2))])
            .Should().BeOfType<ObservationDecision.Rejected>().Which.Conflicts.Single().IsKeepApart.Should().BeTrue();
    }

    [Theory]
    [InlineData(NewExt, NewExt, "itself")]
    [InlineData(Union1, OldExt, "keeps the type")]
    [InlineData("phone::+8613800000000", "phone::+8613800000001", "exclusive")]
    public void Impossible_replacements_are_refused(string @new, string old, string reason)
    {
        var create = () => new Observation([I(@new)], "t", At, null, [new Replacement(I(old), I(@new))]);

        create.Should().Throw<ArgumentException>().WithMessage($"*{reason}*");
    }

    [Fact]
    public void A_new_identifier_must_be_among_the_ids_and_a_chain_needs_two_observations()
    {
        Replacement.Check([new Replacement(I(OldExt), I(NewExt))], [I(Union1)]).Should().Contain("must be one of the observation's ids");
        Replacement.Check([new Replacement(I(OldExt), I(NewExt)), new Replacement(I(NewExt), I(NewerExt))], [I(NewExt), I(NewerExt)])
            .Should().Contain("separate observations");
        Replacement.Check([new Replacement(I(OldExt), I(NewExt)), new Replacement(I(OldExt), I(NewerExt))], [I(NewExt), I(NewerExt)])
            .Should().Contain("more than one");
    }

    [Fact]
    public void Components_carry_the_marks_and_a_component_with_both_ids_in_effect_is_named()
    {
        var records = new[]
        {
            new ObservationRecord(new ObservationId(1), [I(OldExt), I(Union1)], "t", At, [], ObservationStatus.Accepted),
            new ObservationRecord(new ObservationId(2), [I(NewExt), I(OldExt)], "t", At, [], ObservationStatus.Accepted)
            {
                Replacements = [new Replacement(I(OldExt), I(NewExt))],
            },
        };

        var component = GraphRules.Components(records).Should().ContainSingle().Subject;
        component.ReplacedBy.Should().Equal(new Dictionary<Identifier, Identifier> { [I(OldExt)] = I(NewExt) });
        GraphRules.ActiveConflict(component).Should().BeNull();

        // Without the replacement (retracted), the old and the new id would both be in effect.
        var without = GraphRules.Components([records[0], new ObservationRecord(new ObservationId(3), [I(NewExt), I(OldExt)], "t", At, [], ObservationStatus.Accepted)]);
        GraphRules.ActiveConflict(without.Single()).Should().NotBeNull();
    }
}

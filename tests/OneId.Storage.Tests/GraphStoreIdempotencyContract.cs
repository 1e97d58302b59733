using FluentAssertions;
using OneId.Graph;
using OneId.Testing;
using Xunit;

namespace OneId.Storage.Tests;

/// <summary>Observation keys (an import line's identity): an observation that arrives again is answered, not applied again.</summary>
public abstract partial class GraphStoreContract
{
    private Observation Keyed(string key, params string[] ids) => Obs(ids) with { Key = key };

    [StoreFact]
    public async Task An_observation_with_a_stored_key_is_answered_with_its_first_outcome_and_changes_nothing()
    {
        var first = await Store.ObserveAsync(Keyed("id:crm-1", OpenId(Oa, "k1"), UnionId("k1")), CancellationToken.None);
        var conflict = await Store.ObserveAsync(Keyed("id:crm-2", OpenId(Oa, "k2"), UnionId("k1")), CancellationToken.None);
        var weak = await Store.ObserveAsync(Keyed("id:crm-3", "phone::+8613800000009"), CancellationToken.None);
        var before = await Store.GetStatsAsync(CancellationToken.None);
        var eventsBefore = await Store.ReadEventsAsync(0, 1000, CancellationToken.None);

        var again = await Store.ObserveManyAsync(
            [Keyed("id:crm-1", OpenId(Oa, "k1"), UnionId("k1")), Keyed("id:crm-2", OpenId(Oa, "k2"), UnionId("k1")), Keyed("id:crm-3", "phone::+8613800000009")],
            CancellationToken.None);

        again.Should().OnlyContain(r => r.AlreadyApplied && r.Events.Count == 0 && !r.NewPerson);
        again.Select(r => (r.Observation, r.Outcome, r.Person)).Should().Equal(
            (first.Observation, ObserveOutcome.Accepted, first.Person),
            (conflict.Observation, ObserveOutcome.Rejected, (PersonId?)null),
            (weak.Observation, ObserveOutcome.LinkedNothing, (PersonId?)null));
        first.AlreadyApplied.Should().BeFalse();
        (await Store.GetStatsAsync(CancellationToken.None)).Should().BeEquivalentTo(before);
        (await Store.ReadEventsAsync(0, 1000, CancellationToken.None)).Should().HaveCount(eventsBefore.Count);
    }

    [StoreFact]
    public async Task A_key_seen_twice_in_one_batch_is_applied_once()
    {
        var results = await Store.ObserveManyAsync(
            [Keyed("sha256:aa", OpenId(Mp, "k3")), Keyed("sha256:bb", OpenId(Oa, "k3"), UnionId("k3")), Keyed("sha256:aa", OpenId(Mp, "k3")),
             Obs(OpenId(Mp, "k3"), UnionId("k3"))],
            CancellationToken.None);

        results.Select(r => r.AlreadyApplied).Should().Equal(false, false, true, false);
        results[2].Observation.Should().Be(results[0].Observation);
        results[2].Person.Should().Be(results[3].Person, "the answer names the person as it is after the merge");
        (await Store.GetStatsAsync(CancellationToken.None)).Observations.Should().Be(3);
    }

    [StoreFact]
    public async Task A_re_run_after_a_run_stopped_midway_applies_only_what_is_missing()
    {
        var all = Enumerable.Range(0, 30).Select(i => Keyed($"id:line-{i}", OpenId(Oa, "r" + (i % 10)), UnionId("r" + (i / 3)))).ToArray();
        await Store.ObserveManyAsync(all[..12], CancellationToken.None);
        using (var cancelled = new CancellationTokenSource())
        {
            // A batch that never commits (the process died inside it) leaves nothing behind.
            await cancelled.CancelAsync();
            var dying = () => Store.ObserveManyAsync(all[12..20], cancelled.Token);
            await dying.Should().ThrowAsync<OperationCanceledException>();
        }

        var rerun = await Store.ObserveManyAsync(all, CancellationToken.None);

        rerun.Count(r => r.AlreadyApplied).Should().Be(12);
        var stats = await Store.GetStatsAsync(CancellationToken.None);
        (stats.Observations + stats.Conflicts).Should().Be(30);
        await GraphInvariants.AssertMatchesReplayAsync(Store);
    }

    [StoreFact]
    public async Task Stats_count_accepted_rejected_weak_only_and_retracted_observations_apart()
    {
        var accepted = await Observe(OpenId(Oa, "s1"), UnionId("s1"));
        await Observe(OpenId(Mp, "s1"), UnionId("s1"));
        await Observe(OpenId(Oa, "s2"), UnionId("s1"));
        await Observe("phone::+8613800000011");
        await Observe(OpenId(Web, "s3"));
        await Store.RetractAsync((await Observe(OpenId(Web, "s4"))).Observation, CancellationToken.None);

        var stats = await Store.GetStatsAsync(CancellationToken.None);

        stats.ObservationsByOutcome.Should().Be(new ObservationCounts(Accepted: 3, Rejected: 1, WeakOnly: 1, Retracted: 1));
        stats.Observations.Should().Be(4, "observations in effect: accepted and weak-only, not the conflict");
        stats.Conflicts.Should().Be(1);
        accepted.Outcome.Should().Be(ObserveOutcome.Accepted);
    }
}

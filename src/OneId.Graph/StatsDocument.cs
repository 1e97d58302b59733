using System.Text.Json.Serialization;

namespace OneId.Graph;

/// <summary>The JSON shape of stats, shared by <c>oneid stats --json</c> and <c>GET /v1/stats</c>.</summary>
public sealed record StatsDocument(
    [property: JsonPropertyName("persons")] long Persons,
    [property: JsonPropertyName("observations")] long Observations,
    [property: JsonPropertyName("identifiers")] long Identifiers,
    [property: JsonPropertyName("conflicts")] long Conflicts,
    [property: JsonPropertyName("identifiers_by_type")] IReadOnlyDictionary<string, long> IdentifiersByType,
    [property: JsonPropertyName("unionid_coverage")] IReadOnlyList<StatsDocument.Coverage> UnionIdCoverage,
    [property: JsonPropertyName("overlap")] IReadOnlyList<StatsDocument.Overlap> AppOverlap)
{
    /// <summary>
    /// Stored observations by outcome. <c>observations</c> counts those in effect (accepted + weak_only);
    /// <c>conflicts</c> equals <c>rejected</c>.
    /// </summary>
    [JsonPropertyName("observations_by_outcome")]
    public Outcomes ObservationsByOutcome { get; init; } = new(0, 0, 0, 0);

    public sealed record Outcomes(
        [property: JsonPropertyName("accepted")] long Accepted,
        [property: JsonPropertyName("rejected")] long Rejected,
        [property: JsonPropertyName("weak_only")] long WeakOnly,
        [property: JsonPropertyName("retracted")] long Retracted);

    public sealed record Coverage(
        [property: JsonPropertyName("appid")] string AppId,
        [property: JsonPropertyName("persons")] long Persons,
        [property: JsonPropertyName("with_unionid")] long WithUnionId,
        [property: JsonPropertyName("share")] double Share);

    public sealed record Overlap(
        [property: JsonPropertyName("apps")] IReadOnlyList<string> Apps,
        [property: JsonPropertyName("persons")] long Persons);

    public static StatsDocument From(GraphStats s) => new(
        s.Persons, s.Observations, s.Identifiers, s.Conflicts, s.IdentifiersByType,
        s.UnionIdCoverage.Select(c => new Coverage(c.AppId, c.Persons, c.WithUnionId, Math.Round(c.Share, 4))).ToArray(),
        s.Overlap.Select(o => new Overlap([o.AppA, o.AppB], o.Persons)).ToArray())
    {
        ObservationsByOutcome = new Outcomes(s.ObservationsByOutcome.Accepted, s.ObservationsByOutcome.Rejected,
            s.ObservationsByOutcome.WeakOnly, s.ObservationsByOutcome.Retracted),
    };
}

using System.Text.Json.Serialization;

namespace OneId.Graph;

/// <summary>
/// A person as OneId answers "who is this?": <c>{"id","aliases":[…],"identifiers":["type:ns:value",…],"profile":{…}}</c>,
/// cut to what the caller's tiers allow: identifiers need <see cref="DataTier.Internal"/> (phones
/// <see cref="DataTier.Private"/>), and without <see cref="DataTier.Private"/> there is no profile at all. The CLI and
/// the hub's query API answer with this same document.
/// </summary>
public sealed record PersonDocument(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("aliases")] IReadOnlyList<string> Aliases,
    [property: JsonPropertyName("identifiers")] IReadOnlyList<string> Identifiers,
    [property: JsonPropertyName("profile"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string>? Profile)
{
    /// <summary>
    /// Old identifiers of the person that a migration replaced, each mapped to the identifier that replaced it
    /// (<c>{"openid:wxOLD…:o…":"openid:wxNEW…:o…"}</c>); absent when nothing was replaced or the caller may not see identifiers.
    /// </summary>
    [JsonPropertyName("replaced_by"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? ReplacedBy { get; init; }

    public static PersonDocument From(Person person, IReadOnlySet<DataTier> tiers)
    {
        ArgumentNullException.ThrowIfNull(person);
        ArgumentNullException.ThrowIfNull(tiers);
        var seesPrivate = tiers.Contains(DataTier.Private);
        var replacedBy = person.ReplacedBy.Count > 0 && tiers.Contains(DataTier.Internal)
            ? person.ReplacedBy.OrderBy(r => r.Key.ToString(), StringComparer.Ordinal).ToDictionary(r => r.Key.ToString(), r => r.Value.ToString(), StringComparer.Ordinal)
            : null;
        return new PersonDocument(
            person.Id.ToString(),
            person.Aliases.Select(a => a.ToString()).ToArray(),
            person.Identifiers.Where(i => tiers.Contains(i.Tier)).Select(i => i.ToString()).ToArray(),
            seesPrivate
                ? person.Profile.Where(a => tiers.Contains(a.Tier)).ToDictionary(a => a.Name, a => a.Value, StringComparer.Ordinal)
                : null)
        {
            ReplacedBy = replacedBy,
        };
    }

    public static readonly IReadOnlySet<DataTier> AllTiers = new HashSet<DataTier> { DataTier.Public, DataTier.Internal, DataTier.Private };
}

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
    public static PersonDocument From(Person person, IReadOnlySet<DataTier> tiers)
    {
        ArgumentNullException.ThrowIfNull(person);
        ArgumentNullException.ThrowIfNull(tiers);
        var seesPrivate = tiers.Contains(DataTier.Private);
        return new PersonDocument(
            person.Id.ToString(),
            person.Aliases.Select(a => a.ToString()).ToArray(),
            person.Identifiers.Where(i => tiers.Contains(i.Tier)).Select(i => i.ToString()).ToArray(),
            seesPrivate
                ? person.Profile.Where(a => tiers.Contains(a.Tier)).ToDictionary(a => a.Name, a => a.Value, StringComparer.Ordinal)
                : null);
    }

    public static readonly IReadOnlySet<DataTier> AllTiers = new HashSet<DataTier> { DataTier.Public, DataTier.Internal, DataTier.Private };
}

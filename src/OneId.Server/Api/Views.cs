using System.Text.Json.Serialization;
using OneId.Graph;
using OneId.Server.Security;

namespace OneId.Server.Api;

/// <summary>A person as a caller may see it: <c>{"id","aliases","identifiers","profile"}</c>; profile only with the private tier.</summary>
public sealed record ObservationView(
    string Id,
    IReadOnlyList<string> Ids,
    string Source,
    DateTimeOffset At,
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string>? Profile)
{
    public static ObservationView From(ObservationRecord o, Caller caller) => new(
        o.Id.ToString(),
        o.Identifiers.Where(caller.MaySee).Select(i => i.ToString()).ToArray(),
        o.Source,
        o.At,
        o.Status.ToString().ToLowerInvariant(),
        caller.May(DataTier.Private) && o.Profile.Count > 0
            ? o.Profile.Where(a => caller.May(a.Tier)).ToDictionary(a => a.Name, a => a.Value, StringComparer.Ordinal)
            : null);
}

public sealed record EventView(
    long Sequence,
    string Kind,
    string? Person,
    IReadOnlyList<string> Others,
    string? Observation,
    IReadOnlyList<string> Ids,
    string? Detail,
    DateTimeOffset At)
{
    public static EventView From(GraphEvent e, Caller caller) => new(
        e.Sequence,
        e.KindName,
        e.Person?.ToString(),
        e.Others.Select(p => p.ToString()).ToArray(),
        e.Observation?.ToString(),
        e.Identifiers.Where(caller.MaySee).Select(i => i.ToString()).ToArray(),
        // Conflict details quote identifier values; they are internal data, shown to internal callers only.
        caller.May(DataTier.Internal) ? e.Detail : null,
        e.At);
}

public sealed record ResolveBatchRequest(IReadOnlyList<string>? Ids);

public sealed record ResolveBatchItem(
    string Query,
    PersonDocument? Person,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error);

public sealed record ResolveBatchResponse(IReadOnlyList<ResolveBatchItem> Results);

public sealed record RetractView(string Observation, IReadOnlyList<string> Persons);

/// <summary>POST /v1/keys: <c>permissions</c> holds read, write or admin (the highest counts); <c>admin: true</c> is the older spelling of admin.</summary>
public sealed record CreateKeyRequest(string? Name, IReadOnlyList<string>? Tiers, IReadOnlyList<string>? Permissions, bool Admin);

/// <summary>The one answer that carries the key itself; only its hash is stored.</summary>
public sealed record CreateKeyResponse(string Id, string Key, string Tenant, string? Name, IReadOnlyList<string> Tiers, IReadOnlyList<string> Permissions, bool Admin, DateTimeOffset CreatedAt);

public sealed record KeyListView(IReadOnlyList<OneId.Server.Security.ApiKeyInfo> Keys);

public sealed record HealthView(string Status, IReadOnlyList<string> Tenants);

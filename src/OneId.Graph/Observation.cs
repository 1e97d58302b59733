namespace OneId.Graph;

/// <summary>Who may see a piece of data (docs/wechat-api.md §11.1): every API key is granted a set of tiers.</summary>
public enum DataTier
{
    /// <summary>appid, corpid, app names.</summary>
    Public = 0,
    /// <summary>openid, unionid, external_userid, pending_id, person ids.</summary>
    Internal = 1,
    /// <summary>nickname, avatar, phone, gender, region, language.</summary>
    Private = 2,
}

/// <summary>A profile attribute as seen by one observation.</summary>
public sealed record ProfileAttribute(string Name, string Value, DataTier Tier);

/// <summary>
/// "These identifiers were seen together for one person, by this source, at this time." Every flow produces
/// observations and nothing else writes the graph.
/// </summary>
public sealed record Observation
{
    public Observation(IEnumerable<Identifier> identifiers, string source, DateTimeOffset at, IEnumerable<ProfileAttribute>? profile = null)
        : this(identifiers, source, at, profile, null)
    {
    }

    /// <param name="replacements">
    /// Identifiers issued by a migration in place of older ones (docs/model.md §3.9): each new one must be among
    /// <paramref name="identifiers"/>; the old ones are added to <see cref="Identifiers"/>, since the observation says
    /// they belong to the same person.
    /// </param>
    public Observation(IEnumerable<Identifier> identifiers, string source, DateTimeOffset at, IEnumerable<ProfileAttribute>? profile, IEnumerable<Replacement>? replacements)
    {
        ArgumentNullException.ThrowIfNull(identifiers);
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        var ids = identifiers.Distinct().ToList();
        if (ids.Count == 0)
        {
            throw new ArgumentException("an observation needs at least one identifier", nameof(identifiers));
        }
        Replacements = replacements is null ? [] : replacements.Distinct().ToArray();
        if (Replacements.Count > 0)
        {
            if (Replacement.Check(Replacements, ids) is { } error)
            {
                throw new ArgumentException(error, nameof(replacements));
            }
            ids.AddRange(Replacements.Select(r => r.Old).Where(old => !ids.Contains(old)));
        }
        Identifiers = ids;
        Source = source;
        At = at;
        Profile = profile is null ? [] : ProfilePolicy.KeepReal(profile);
        Exclusive = Identifiers.Where(i => i.IsExclusive).ToArray();
        Weak = Identifiers.Count == Exclusive.Count ? [] : Identifiers.Where(i => !i.IsExclusive).ToArray();
    }

    public IReadOnlyList<Identifier> Identifiers { get; }
    public string Source { get; }
    public DateTimeOffset At { get; }
    public IReadOnlyList<ProfileAttribute> Profile { get; }

    /// <summary>
    /// The observation's identity when it may arrive more than once (an import line re-run, a retried
    /// <c>POST /v1/observations</c>): the store applies an observation with a key it already holds only once and
    /// answers the first outcome again. Null for observations that are new by nature (a login, a push).
    /// See <see cref="ObservationLine"/> for how a line's key is made.
    /// </summary>
    public string? Key { get; init; }

    /// <summary>
    /// A row that must be committed with this observation or not at all (a login's session): the store writes it in
    /// the observation's transaction, whatever the outcome (accepted, rejected, linked nothing, applied before). Null
    /// for most observations.
    /// </summary>
    public ObservationAttachment? Attachment { get; init; }

    /// <summary>"New B replaces old A" statements; both are in <see cref="Identifiers"/>. Empty for most observations.</summary>
    public IReadOnlyList<Replacement> Replacements { get; }

    /// <summary>The identifiers that link and merge persons.</summary>
    public IReadOnlyList<Identifier> Exclusive { get; }

    /// <summary>The identifiers that only attach (phones).</summary>
    public IReadOnlyList<Identifier> Weak { get; }
}

/// <summary>
/// Something written in the same transaction as an observation, by the store that holds both. The graph does not look
/// inside it: the store writes the kinds it has a writer for, given the observation's outcome (the person it
/// resolved to), and fails the whole write on a kind it has no writer for rather than drop it.
/// </summary>
public abstract record ObservationAttachment;

/// <summary>What the graph keeps of an observation once stored.</summary>
public sealed record ObservationRecord(
    ObservationId Id,
    IReadOnlyList<Identifier> Identifiers,
    string Source,
    DateTimeOffset At,
    IReadOnlyList<ProfileAttribute> Profile,
    ObservationStatus Status)
{
    /// <summary>What the observation said was replaced (its old identifiers are among <see cref="Identifiers"/>).</summary>
    public IReadOnlyList<Replacement> Replacements { get; init; } = [];
}

/// <summary>
/// Identifier <paramref name="New"/> was issued in place of <paramref name="Old"/> for the same person (docs/model.md
/// §3.9): WeCom's provider id upgrade, an OA account migration, a re-issued pending_id. New takes Old's exclusive
/// place; Old keeps resolving to the person, marked replaced.
/// </summary>
public readonly record struct Replacement(Identifier Old, Identifier New)
{
    /// <summary>Why a set of replacements cannot be applied with <paramref name="identifiers"/>, or null when it can.</summary>
    public static string? Check(IReadOnlyCollection<Replacement> replacements, IReadOnlyCollection<Identifier> identifiers)
    {
        ArgumentNullException.ThrowIfNull(replacements);
        ArgumentNullException.ThrowIfNull(identifiers);
        var olds = new HashSet<Identifier>();
        var news = new HashSet<Identifier>();
        foreach (var r in replacements)
        {
            if (!r.Old.IsExclusive || !r.New.IsExclusive)
            {
                return $"only exclusive identifiers can replace one another ({(r.Old.IsExclusive ? r.New : r.Old).Type} is weak)";
            }
            if (r.Old.Type != r.New.Type)
            {
                return $"{r.New} cannot replace {r.Old}: a replacement keeps the type ({r.New.Type} is not {r.Old.Type})";
            }
            if (r.Old.Equals(r.New))
            {
                return $"{r.New} cannot replace itself";
            }
            if (!identifiers.Contains(r.New))
            {
                return $"the new identifier {r.New} must be one of the observation's ids";
            }
            if (!news.Add(r.New))
            {
                return $"{r.New} replaces more than one identifier";
            }
            if (!olds.Add(r.Old))
            {
                return $"{r.Old} is replaced by more than one identifier";
            }
        }
        foreach (var r in replacements)
        {
            if (news.Contains(r.Old))
            {
                // A chain inside one observation (A → B → C) would leave B's state to the order of the map: say it in two.
                return $"{r.Old} both replaces and is replaced in one observation; send the links of a chain as separate observations";
            }
        }
        return null;
    }
}

/// <summary>An observation's state. The values are stored: never renumber them.</summary>
public enum ObservationStatus
{
    Accepted = 0,
    Rejected = 1,
    Retracted = 2,
}

/// <summary>Which attributes are private and which values are WeChat placeholders rather than data.</summary>
public static class ProfilePolicy
{
    /// <summary>
    /// Placeholders WeChat hands out in place of real data: since 2022-10-25 getUserProfile returns the nickname
    /// "微信用户" and a default grey avatar (docs/wechat-api.md §4.5); since 2021-12 OA user/info blanks nickname, sex,
    /// city, province, country and headimgurl (§2.1). Storing them would overwrite real data with nothing.
    /// </summary>
    private static readonly HashSet<string> PlaceholderNicknames = new(StringComparer.Ordinal) { "微信用户", "WeChat User" };

    // The default grey avatar is served from these paths (captured URLs end in this file name pattern).
    private static readonly string[] DefaultAvatarMarkers =
    [
        "thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132",
        "/sandbox/default-avatar",
    ];

    private static readonly HashSet<string> PrivateAttributes = new(StringComparer.Ordinal)
    {
        "nickname", "avatar", "headimgurl", "phone", "gender", "sex", "country", "province", "city", "region", "language",
    };

    private static readonly HashSet<string> PublicAttributes = new(StringComparer.Ordinal) { "appid", "corpid", "app_name" };

    /// <summary>The tier of an attribute by name: unknown attributes are treated as private, the safe default.</summary>
    public static DataTier TierOf(string name) =>
        PublicAttributes.Contains(name) ? DataTier.Public
        : PrivateAttributes.Contains(name) ? DataTier.Private
        : name is "remark" or "subscribe_scene" ? DataTier.Internal
        : DataTier.Private;

    public static bool IsPlaceholder(string name, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return true;
        }
        return name switch
        {
            "nickname" => PlaceholderNicknames.Contains(value.Trim()),
            "avatar" or "headimgurl" => DefaultAvatarMarkers.Any(m => value.Contains(m, StringComparison.Ordinal)),
            // sex/gender 0 means "unknown" and is what blanked OA answers carry.
            "sex" or "gender" => value == "0",
            _ => false,
        };
    }

    public static IReadOnlyList<ProfileAttribute> KeepReal(IEnumerable<ProfileAttribute> attributes) =>
        attributes.Where(a => !IsPlaceholder(a.Name, a.Value))
                  .GroupBy(a => a.Name, StringComparer.Ordinal)
                  .Select(g => g.Last())
                  .ToArray();

    public static ProfileAttribute Attribute(string name, string value) => new(name, value, TierOf(name));
}

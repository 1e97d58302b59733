import type { ChannelDoc, RelationshipsDoc, Stats } from '../api';

/** The real follower count of a stats answer: `followers` is a number or an object with `total`; undefined when absent. */
export function followerTotal(stats: Pick<Stats, 'followers'>): number | undefined {
  const f = stats.followers;
  if (typeof f === 'number') return f;
  return f && typeof f.total === 'number' ? f.total : undefined;
}

/** Channels with the most persons first, then by kind and name, so the table reads as a ranking. */
export function rankChannels(channels: ChannelDoc[] | undefined): (ChannelDoc & { key: string })[] {
  return [...(channels ?? [])]
    .sort((a, b) => b.persons - a.persons || a.kind.localeCompare(b.kind) || a.channel.localeCompare(b.channel))
    .map((c) => ({ ...c, key: `${c.kind}|${c.owner}|${c.channel}` }));
}

export interface RelationshipRow {
  key: string; kind: 'follow' | 'contact'; owner: string; with: string; active: boolean; since: string | null; ended: string | null; channel: string | null; removedBy: string | null;
}

const day = (t: string | null) => (t ? t.replace('T', ' ').slice(0, 19) : null);

/** One row per follow and per WeCom contact, current ones first. */
export function relationshipRows(r: RelationshipsDoc | undefined): RelationshipRow[] {
  if (!r) return [];
  const follows: RelationshipRow[] = r.follows.map((f) => ({
    key: `f|${f.openid}`, kind: 'follow', owner: f.appid, with: f.openid, active: f.following,
    since: day(f.following ? f.followed_at ?? f.since : f.followed_at), ended: f.following ? null : day(f.unfollowed_at ?? f.since), channel: f.scene, removedBy: null,
  }));
  const contacts: RelationshipRow[] = r.wecom_contacts.map((c) => ({
    key: `c|${c.external_userid}|${c.member}`, kind: 'contact', owner: c.corpid, with: c.member, active: c.active,
    since: day(c.added_at), ended: c.active ? null : day(c.removed_at), channel: c.state, removedBy: c.removed_by,
  }));
  return [...follows, ...contacts].sort((a, b) => Number(b.active) - Number(a.active));
}

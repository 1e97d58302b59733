import { describe, expect, it } from 'vitest';
import { followerTotal, rankChannels, relationshipRows } from './relationships';
import type { RelationshipsDoc } from '../api';

describe('followerTotal', () => {
  it('reads a number or an object with total', () => {
    expect(followerTotal({ followers: 7 })).toBe(7);
    expect(followerTotal({ followers: { total: 3, per_app: { wx1: 2, wx2: 2 } } })).toBe(3);
    expect(followerTotal({})).toBeUndefined();
  });
});

describe('rankChannels', () => {
  it('puts the channels that brought the most persons first', () => {
    const ranked = rankChannels([
      { kind: 'qr_scene', owner: 'wx1', channel: 'b', persons: 1, became_contacts: 0, contacts_now: 0 },
      { kind: 'contact_way', owner: 'ww1', channel: 'fair', persons: 5, became_contacts: 5, contacts_now: 4 },
      { kind: 'qr_scene', owner: 'wx1', channel: 'a', persons: 1, became_contacts: 1, contacts_now: 1 },
    ]);
    expect(ranked.map((c) => c.channel)).toEqual(['fair', 'a', 'b']);
    expect(new Set(ranked.map((c) => c.key)).size).toBe(3);
    expect(rankChannels(undefined)).toEqual([]);
  });
});

describe('relationshipRows', () => {
  const doc: RelationshipsDoc = {
    following: false, wecom_contact: true,
    follows: [{ appid: 'wx1', openid: 'openid:wx1:o1', following: false, since: '2026-01-02T00:00:00Z', scene: 'poster', followed_at: '2026-01-01T00:00:00Z', unfollowed_at: '2026-01-02T00:00:00Z' }],
    wecom_contacts: [{ corpid: 'ww1', external_userid: 'external_userid:ww1:wm1', member: 'zhangsan', active: true, added_at: '2026-01-03T00:00:00Z', removed_at: null, removed_by: null, state: 'fair' }],
  };
  it('lists current relationships first, with their channel and times', () => {
    const rows = relationshipRows(doc);
    expect(rows.map((r) => [r.kind, r.with, r.active, r.channel])).toEqual([['contact', 'zhangsan', true, 'fair'], ['follow', 'openid:wx1:o1', false, 'poster']]);
    expect(rows[1].since).toBe('2026-01-01 00:00:00');
    expect(rows[1].ended).toBe('2026-01-02 00:00:00');
    expect(rows[0].ended).toBeNull();
  });
  it('is empty without relationships (a key without the internal tier)', () => {
    expect(relationshipRows(undefined)).toEqual([]);
  });
});

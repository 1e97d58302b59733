import { describe, expect, it } from 'vitest';
import { buildPersonGraph, identifiersByType } from './graph';
import { parseIdentifier, shorten, isPersonId } from './ids';

const person = {
  id: 'p_1',
  aliases: ['p_7'],
  identifiers: ['openid:wx00000000000000a1:oAAAAAAAAAA1', 'unionid:acme:oUUUUUUUUUU1', 'openid:wx00000000000000b2:oBBBBBBBBBB1', 'phone::+8613800000000'],
};
const obs = (id: string, ids: string[], status = 'accepted') => ({ id, ids, source: 'mp_login', at: '2024-05-01T10:00:00Z', status });

describe('parseIdentifier', () => {
  it('splits at the first two colons only', () => {
    expect(parseIdentifier('account:crm:a:b')).toEqual({ type: 'account', namespace: 'crm', value: 'a:b' });
    expect(parseIdentifier('phone::+86138')).toEqual({ type: 'phone', namespace: '', value: '+86138' });
    expect(parseIdentifier('nonsense')).toBeNull();
    expect(parseIdentifier(':x:y')).toBeNull();
  });
  it('shortens long values keeping both ends', () => {
    expect(shorten('oAAAAAAAAAAAAAAAAAAAAAAA1234')).toBe('oAAAAAAAA…1234');
    expect(shorten('short')).toBe('short');
  });
  it('recognizes person ids', () => {
    expect(isPersonId('p_12')).toBe(true);
    expect(isPersonId('p_0')).toBe(false);
    expect(isPersonId('openid:x:y')).toBe(false);
  });
});

describe('buildPersonGraph', () => {
  it('draws each identifier as a node inside its type and namespace group', () => {
    const g = buildPersonGraph(person, []);
    const ids = g.nodes.filter((n) => n.data.type !== 'group');
    expect(ids.map((n) => n.data.id).sort()).toEqual([...person.identifiers].sort());
    const groups = g.nodes.filter((n) => n.data.type === 'group').map((n) => n.data.id).sort();
    expect(groups).toEqual(['ns:openid:wx00000000000000a1', 'ns:openid:wx00000000000000b2', 'ns:unionid:acme']);
    expect(ids.find((n) => n.data.type === 'phone')!.data.parent).toBeUndefined();
  });

  it('turns each accepted observation into a star of edges labelled with source and day', () => {
    const g = buildPersonGraph(person, [
      obs('1', ['openid:wx00000000000000a1:oAAAAAAAAAA1', 'unionid:acme:oUUUUUUUUUU1', 'phone::+8613800000000']),
      obs('2', ['openid:wx00000000000000b2:oBBBBBBBBBB1', 'unionid:acme:oUUUUUUUUUU1']),
      obs('3', ['openid:wx00000000000000b2:oBBBBBBBBBB1', 'unionid:acme:oOTHER'], 'rejected'),
    ]);
    expect(g.edges).toHaveLength(3);
    expect(g.edges.every((e) => e.data.label === 'mp_login · 2024-05-01')).toBe(true);
    expect(g.edges.filter((e) => e.data.observation === '1').map((e) => e.data.source)).toEqual([
      'openid:wx00000000000000a1:oAAAAAAAAAA1',
      'openid:wx00000000000000a1:oAAAAAAAAAA1',
    ]);
    expect(g.edges.some((e) => e.data.observation === '3')).toBe(false);
  });

  it('leaves out identifiers the key may not see (not on the person document)', () => {
    const g = buildPersonGraph({ ...person, identifiers: person.identifiers.filter((i) => !i.startsWith('phone')) }, [
      obs('1', ['openid:wx00000000000000a1:oAAAAAAAAAA1', 'phone::+8613800000000']),
    ]);
    expect(g.edges).toHaveLength(0);
    expect(g.nodes.some((n) => n.data.type === 'phone')).toBe(false);
  });

  it('groups identifiers by type in a stable order', () => {
    expect(identifiersByType(person.identifiers).map(([t, ids]) => [t, ids.length])).toEqual([['openid', 2], ['phone', 1], ['unionid', 1]]);
  });
});

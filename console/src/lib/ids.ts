// Identifiers are written type:namespace:value; the value may itself contain colons, the first two never do.
export interface ParsedId { type: string; namespace: string; value: string }

export function parseIdentifier(text: string): ParsedId | null {
  const a = text.indexOf(':');
  if (a <= 0) return null;
  const b = text.indexOf(':', a + 1);
  if (b < 0) return null;
  return { type: text.slice(0, a), namespace: text.slice(a + 1, b), value: text.slice(b + 1) };
}

export function shorten(value: string, max = 14): string {
  return value.length <= max ? value : `${value.slice(0, max - 5)}…${value.slice(-4)}`;
}

const colors: Record<string, string> = {
  openid: '#1677ff',
  unionid: '#722ed1',
  external_userid: '#13a8a8',
  pending_id: '#fa8c16',
  account: '#52c41a',
  phone: '#eb2f96',
};

export function colorOf(type: string): string {
  return colors[type] ?? '#8c8c8c';
}

export function isPersonId(text: string): boolean {
  return /^p_[1-9][0-9]*$/.test(text.trim());
}

// The console's only way to the hub: the public HTTP API, authenticated by the session cookie. Writes carry the
// console header, which the hub requires of cookie-authenticated changes (a cross-site form cannot send it).

export class ApiError extends Error {
  constructor(
    public readonly status: number,
    public readonly title: string,
    public readonly detail: string,
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }
}

export type Fetcher = (input: string, init?: RequestInit) => Promise<Response>;

export async function problemOf(response: Response): Promise<ApiError> {
  let title = response.statusText || `HTTP ${response.status}`;
  let detail = '';
  try {
    const body = await response.json();
    if (body && typeof body === 'object') {
      title = typeof body.title === 'string' ? body.title : title;
      detail = typeof body.detail === 'string' ? body.detail : '';
    }
  } catch {
    // not JSON: keep the status text
  }
  return new ApiError(response.status, title, detail);
}

export function createApi(fetcher: Fetcher = (i, r) => fetch(i, r)) {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (method !== 'GET') headers['X-OneId-Console'] = '1';
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetcher(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw await problemOf(response);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
  return {
    get: <T>(path: string) => call<T>('GET', path),
    post: <T>(path: string, body?: unknown) => call<T>('POST', path, body ?? {}),
    del: <T>(path: string) => call<T>('DELETE', path),
  };
}

export const api = createApi();

export function query(params: Record<string, string | number | undefined | null>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

// ---- documents the hub answers with (snake_case, as on the wire)

export interface Session { tenant: string; tiers: string[]; admin: boolean; write: boolean; key_id: string; expires_at?: string | null }
export interface PersonDoc { id: string; aliases: string[]; identifiers: string[]; profile?: Record<string, string>; replaced_by?: Record<string, string>; relationships?: RelationshipsDoc }
/** A person's follows of OAs and WeCom contacts, with state and time (internal tier). */
export interface RelationshipsDoc {
  following: boolean; wecom_contact: boolean;
  follows: { appid: string; openid: string; following: boolean; since: string; scene: string | null; followed_at: string | null; unfollowed_at: string | null }[];
  wecom_contacts: { corpid: string; external_userid: string; member: string; active: boolean; added_at: string | null; removed_at: string | null; removed_by: string | null; state: string | null }[];
}
export interface ChannelDoc { kind: 'qr_scene' | 'contact_way' | string; owner: string; channel: string; persons: number; became_contacts: number; contacts_now: number }
export interface ObservationDoc { id: string; ids: string[]; source: string; at: string; status: string; profile?: Record<string, string> }
export interface EventDoc { sequence: number; kind: string; person: string | null; others: string[]; observation: string | null; ids: string[]; detail: string | null; at: string }
export interface Stats {
  persons: number; observations: number; identifiers: number; conflicts: number;
  identifiers_by_type: Record<string, number>;
  unionid_coverage: { appid: string; persons: number; with_unionid: number; share?: number }[];
  overlap: { apps: string[]; persons: number }[];
  /** Real followers: distinct persons following at least one OA now (a number, or an object with total). */
  followers?: number | { total: number; per_app?: Record<string, number> };
  wecom_contacts?: { total: number; per_corp?: Record<string, number> };
  channels?: ChannelDoc[];
  per_day?: { day: string; new_persons: number; followers: number; followers_per_app?: Record<string, number> }[];
}
export interface Dispute { type: string; namespace: string; values: string[]; persons: string[]; text: string }
export interface ConflictDoc {
  id: string; state: 'open' | 'dismissed' | 'applied'; observation: ObservationDoc; disputes: Dispute[]; persons: string[];
  standing_in_the_way: string[]; resolved_at: string | null; applied_as: string | null; retracted: string[];
}
export interface ConflictPage { items: ConflictDoc[]; open: number; total: number; offset: number; limit: number }
export interface JobDoc {
  id: string; kind: string; appid: string; state: 'queued' | 'running' | 'succeeded' | 'failed';
  progress: { pages: number; followers: number; new_persons: number; merges: number; conflicts: number; members?: number; contacts?: number };
  eta_seconds: number | null; error: string | null; created_at: string; started_at: string | null; finished_at: string | null;
}
export interface KeyDoc { id: string; name?: string | null; tiers: string[]; permissions?: string[]; admin?: boolean; created_at?: string; last_used_at?: string | null; revoked?: boolean }
export interface AuditEntry { sequence: number; at: string; key_id: string; action: string; target: string | null; status: number; detail: string | null }
export interface WebhookDoc { index: number; url: string; events: string[]; sequence: number; head: number; lag: number; attempts: number; next_attempt_at: string | null; last_error: string | null }
export interface CorpAppDoc { corpid: string; app: string; kind: string }
export interface AppDoc { appid: string; type: string; union_space: string | null; token: { state: string; expires_at: string | null } }
export interface GrowthDoc { days: { day: string; persons: number }[] }

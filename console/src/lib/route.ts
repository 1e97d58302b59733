// The console's pages live under /console/; the hub answers every such path with the app, which reads the path.

export type Page = 'overview' | 'search' | 'person' | 'conflicts' | 'jobs' | 'keys' | 'webhooks' | 'audit';
export interface Route { page: Page; param?: string; query?: string }

const pages: Page[] = ['overview', 'search', 'person', 'conflicts', 'jobs', 'keys', 'webhooks', 'audit'];

export function parseRoute(pathname: string, search = ''): Route {
  const rest = pathname.replace(/^\/console\/?/, '').replace(/\/+$/, '');
  const [first, second] = rest.split('/');
  const q = new URLSearchParams(search).get('q') ?? undefined;
  if (!first) return { page: 'overview' };
  if (first === 'persons' && second) return { page: 'person', param: decodeURIComponent(second) };
  if ((pages as string[]).includes(first) && first !== 'person') return { page: first as Page, query: first === 'search' ? q : undefined };
  return { page: 'overview' };
}

export function pathOf(route: Route): string {
  if (route.page === 'overview') return '/console/';
  if (route.page === 'person') return `/console/persons/${encodeURIComponent(route.param ?? '')}`;
  if (route.page === 'search' && route.query) return `/console/search?q=${encodeURIComponent(route.query)}`;
  return `/console/${route.page}`;
}

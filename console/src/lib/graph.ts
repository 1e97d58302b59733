import type { ObservationDoc, PersonDoc } from '../api';
import { colorOf, parseIdentifier, shorten } from './ids';

// The person drawn: identifiers are nodes (coloured by type, grouped by app/namespace), observations are edges
// between the identifiers they saw together, labelled with source and time. Pure, so it is tested without a browser.

export interface GraphNode { data: { id: string; label: string; type: string; namespace: string; color: string; parent?: string } }
export interface GraphEdge { data: { id: string; source: string; target: string; label: string; observation: string; status: string } }
export interface PersonGraph { nodes: GraphNode[]; edges: GraphEdge[] }

export function buildPersonGraph(person: PersonDoc, observations: ObservationDoc[]): PersonGraph {
  const nodes = new Map<string, GraphNode>();
  const groups = new Map<string, GraphNode>();
  const addNode = (identifier: string) => {
    if (nodes.has(identifier)) return;
    const parsed = parseIdentifier(identifier);
    if (!parsed) return;
    const group = parsed.namespace ? `ns:${parsed.type}:${parsed.namespace}` : undefined;
    if (group && !groups.has(group)) {
      groups.set(group, { data: { id: group, label: `${parsed.type} · ${parsed.namespace}`, type: 'group', namespace: parsed.namespace, color: '#f0f0f0' } });
    }
    nodes.set(identifier, {
      data: { id: identifier, label: shorten(parsed.value), type: parsed.type, namespace: parsed.namespace, color: colorOf(parsed.type), parent: group },
    });
  };
  person.identifiers.forEach(addNode);
  const edges: GraphEdge[] = [];
  for (const o of observations) {
    if (o.status !== 'accepted') continue;
    const ids = o.ids.filter((i) => nodes.has(i));
    // A star from the observation's first identifier: n-1 edges say "seen together" without n² clutter.
    for (let k = 1; k < ids.length; k++) {
      edges.push({
        data: { id: `o${o.id}-${k}`, source: ids[0], target: ids[k], label: `${o.source} · ${o.at.slice(0, 10)}`, observation: o.id, status: o.status },
      });
    }
  }
  return { nodes: [...groups.values(), ...nodes.values()], edges };
}

/** The identifiers grouped by type, in a stable order, for the list beside the graph. */
export function identifiersByType(identifiers: string[]): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const id of identifiers) {
    const type = parseIdentifier(id)?.type ?? 'other';
    groups.set(type, [...(groups.get(type) ?? []), id]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

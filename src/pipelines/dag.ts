/**
 * The step graph. Templates are checked at load (unknown ids, cycles); the executor asks which
 * steps are ready given the statuses so far.
 */
export interface DagNode {
  id: string;
  depends_on: string[];
}

export interface DagProblem {
  step: string;
  message: string;
}

/** Duplicate ids, unknown dependencies, self-dependencies and cycles, each naming the step. */
export function dagProblems(nodes: DagNode[]): DagProblem[] {
  const problems: DagProblem[] = [];
  const ids = new Set<string>();
  for (const n of nodes) {
    if (ids.has(n.id)) problems.push({ step: n.id, message: `duplicate step id "${n.id}"` });
    ids.add(n.id);
  }
  for (const n of nodes) {
    for (const dep of n.depends_on) {
      if (dep === n.id) problems.push({ step: n.id, message: `step "${n.id}" depends on itself` });
      else if (!ids.has(dep)) problems.push({ step: n.id, message: `step "${n.id}" depends on unknown step "${dep}"` });
    }
  }
  if (problems.length > 0) return problems;
  const cycle = findCycle(nodes);
  if (cycle) problems.push({ step: cycle[0] ?? '', message: `steps form a cycle: ${cycle.join(' -> ')}` });
  return problems;
}

/** A cycle as a path of ids (first id repeated at the end), or undefined. */
export function findCycle(nodes: DagNode[]): string[] | undefined {
  const deps = new Map(nodes.map((n) => [n.id, n.depends_on]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const s = state.get(id);
    if (s === 'done') return undefined;
    if (s === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of deps.get(id) ?? []) {
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const n of nodes) {
    const found = visit(n.id);
    if (found) return found;
  }
  return undefined;
}

/** Steps in an order where every step comes after its dependencies (stable: file order among peers). */
export function topologicalOrder<T extends DagNode>(nodes: T[]): T[] {
  const done = new Set<string>();
  const out: T[] = [];
  while (out.length < nodes.length) {
    const ready = nodes.filter((n) => !done.has(n.id) && n.depends_on.every((d) => done.has(d)));
    if (ready.length === 0) throw new Error('topologicalOrder: graph has a cycle');
    for (const n of ready) {
      done.add(n.id);
      out.push(n);
    }
  }
  return out;
}

export type NodeStatus = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'SKIPPED' | 'CANCELLED';

/** Pending steps whose dependencies all completed: these may start now, in parallel. */
export function readySteps<T extends DagNode>(nodes: T[], status: ReadonlyMap<string, NodeStatus>): T[] {
  return nodes.filter((n) => status.get(n.id) === 'PENDING' && n.depends_on.every((d) => status.get(d) === 'COMPLETED'));
}

/** Pending steps that can never run because a dependency ended without completing. */
export function blockedSteps<T extends DagNode>(nodes: T[], status: ReadonlyMap<string, NodeStatus>): T[] {
  const ended = (s: NodeStatus | undefined): boolean => s === 'FAILED' || s === 'SKIPPED' || s === 'CANCELLED';
  return nodes.filter((n) => status.get(n.id) === 'PENDING' && n.depends_on.some((d) => ended(status.get(d))));
}

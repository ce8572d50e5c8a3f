/**
 * How the global scheduler indexes name a schedule. Config hashes live in their tenant's cluster slot
 * (`keys.schedule(tenantId, configId)`), so a member of the due index (`<tenantId>:<configId>`) and of
 * the in-flight lease set (`<tenantId>:<configId>|<fireMs>`) carries the tenant needed to find the hash.
 * Tenant ids are `[a-z0-9_]` and config ids UUIDs, so ':' and '|' separate them unambiguously.
 */
export interface ScheduleRef {
  tenantId: string;
  configId: string;
}

export const dueMember = (ref: ScheduleRef): string => `${ref.tenantId}:${ref.configId}`;

export function parseDueMember(member: string): ScheduleRef | null {
  const at = member.indexOf(':');
  return at > 0 && at < member.length - 1 ? { tenantId: member.slice(0, at), configId: member.slice(at + 1) } : null;
}

/** The lease member the claim script writes for one fire: the due member, '|', the fire time. */
export function parseLeaseMember(member: string): { ref: ScheduleRef | null; dueMember: string; fireMs: number | null } {
  const at = member.lastIndexOf('|');
  const fireMs = Number(member.slice(at + 1));
  if (at <= 0 || !Number.isFinite(fireMs)) return { ref: null, dueMember: member, fireMs: null };
  const due = member.slice(0, at);
  return { ref: parseDueMember(due), dueMember: due, fireMs };
}

/** Limits for a free-form JSON value a client stores (e.g. provider settings). */
export interface JsonBounds {
  /** Nesting levels of objects and arrays; `{}` is 1, `{"a": {}}` is 2. */
  maxDepth: number;
  /** UTF-8 bytes of its JSON text. */
  maxBytes: number;
}

/**
 * Why `value` exceeds `bounds`, or null when it fits. JSON.parse builds a value of any depth, but
 * JSON.stringify (and every other recursive walk) overflows the stack at a few thousand levels, so the
 * depth is measured without recursion before anything serializes the value.
 */
export function jsonBoundsProblem(value: unknown, bounds: JsonBounds): string | null {
  const pending: Array<{ node: unknown; depth: number }> = [{ node: value, depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { node, depth } = next;
    if (node === null || typeof node !== 'object') continue;
    if (depth + 1 > bounds.maxDepth) return `must be nested at most ${bounds.maxDepth} levels deep`;
    for (const child of Object.values(node)) pending.push({ node: child, depth: depth + 1 });
  }
  if (Buffer.byteLength(JSON.stringify(value) ?? '') > bounds.maxBytes) return `must be at most ${bounds.maxBytes} bytes as JSON`;
  return null;
}

import type { Middleware } from 'koa';

/**
 * The Content-Security-Policy is the browser's own sandbox for our two HTML pages, Swagger UI at
 * /docs and Bull Board at /admin/queues: scripts, styles, fonts, images and fetches come from this
 * origin only, so neither page can reach another host (an admin visit leaks nowhere and the pages
 * work offline) even if a later version of either package adds an external reference.
 * `frame-ancestors 'none'` (and X-Frame-Options for older browsers) refuses framing, so no other
 * site can overlay the board's buttons. Inline styles stay allowed: both UIs set style attributes
 * and Bull Board's loading screen has a <style> element. On JSON responses the header is inert.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Frame-Options': 'DENY',
  // Browsers must take our Content-Type at its word (no script sniffed out of a JSON error body).
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** Sets the security headers on every response, errors included (set before the chain runs). */
export function securityHeaders(): Middleware {
  return async (ctx, next) => {
    ctx.set(HEADERS);
    await next();
  };
}

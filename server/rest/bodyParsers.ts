import type { FastifyInstance } from 'fastify';

/**
 * The bodies REST clients send, in this scope only: JSON (with Fastify's guard against
 * `__proto__` / `constructor` poisoning), where an empty body is no input at all (wx.request,
 * uni.request and Taro send `Content-Type: application/json` with nothing for a POST without data);
 * with `form: true` also `application/x-www-form-urlencoded`, as OAuth2-style token endpoints take.
 */
export function acceptRequestBodies(scope: FastifyInstance, opts: { form: boolean }): void {
  const json = scope.getDefaultJsonParser('error', 'error');
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (typeof body === 'string' && body.trim() === '') return done(null, undefined);
    return json(req, String(body), done);
  });
  if (opts.form) {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      // Object.fromEntries defines own properties: a `__proto__` field stays a plain field.
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });
  }
}

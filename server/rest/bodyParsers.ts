import type { FastifyInstance } from 'fastify';

/** What acceptRequestBodies takes, for the 415 message. */
export const JSON_OR_FORM = 'JSON (Content-Type: application/json) or a form (application/x-www-form-urlencoded)';

/**
 * The bodies REST clients send, in this scope only, and nothing else (any other type is 415
 * before a byte is read): JSON (with Fastify's guard against `__proto__` / `constructor`
 * poisoning), where an empty body is no input at all (wx.request, uni.request and Taro send
 * `Content-Type: application/json` with nothing for a POST without data); with `form: true` also
 * `application/x-www-form-urlencoded`, as OAuth2-style token endpoints take. Both are read as
 * strings, so Fastify's bodyLimit (BODY_LIMIT_BYTES) bounds them.
 */
export function acceptRequestBodies(scope: FastifyInstance, opts: { form: boolean }): void {
  const json = scope.getDefaultJsonParser('error', 'error');
  scope.removeAllContentTypeParsers();
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

/**
 * What the bundle's free references to web globals mean. client/build.ts injects this module
 * (esbuild `inject`): every `URL`, `FormData`, `Blob` and `AbortController` that tRPC's links or
 * superjson name, anywhere in the bundle, is bound to these exports instead of a global. A mini
 * program has none of them, and its global object is the app's: the client adds nothing to it.
 * (References inside this module are the runtime's own.)
 *
 * If you bundle client/ yourself, inject this module the same way.
 */
import { MiniAbortController } from './miniAbortController';

/** A constructor nothing is an instance of: `x instanceof Absent` is false, `new Absent()` throws. */
function absent(name: string): new () => never {
  return function Absent(): never {
    throw new Error(`${name} is not available in a mini program`);
  } as unknown as new () => never;
}

/**
 * superjson tests `value instanceof URL` on every value it serializes. The real URL where the
 * runtime has one (it round-trips URL values), else nothing is a URL: the server sends none.
 */
const URLBinding: unknown = typeof URL === 'function' ? URL : absent('URL');

/**
 * tRPC's httpLink sends FormData and Blob inputs as they are and tests every input with
 * `instanceof`. wx.request sends strings only (files go through wx.uploadFile), so here nothing
 * is FormData or a Blob, whatever the runtime has: every input goes as JSON.
 */
const FormDataBinding = absent('FormData');
const BlobBinding = absent('Blob');

/** tRPC's links make one per call. The runtime's own where it has one (real signals interoperate). */
const AbortControllerBinding: unknown = typeof AbortController === 'function' ? AbortController : MiniAbortController;

export { URLBinding as URL, FormDataBinding as FormData, BlobBinding as Blob, AbortControllerBinding as AbortController };

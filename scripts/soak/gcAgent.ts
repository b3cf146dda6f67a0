/**
 * Loaded into the soak's server child (`node --expose-gc --import tsx --import this`), never into
 * a real deployment: on the IPC message 'gc' it runs a full garbage collection and answers with
 * process.memoryUsage(), so that the soak compares the RSS of live memory rather than wherever
 * V8's heap happened to be between two collections.
 */
const collectGarbage = (globalThis as { gc?: () => void }).gc;

process.on('message', (message) => {
  if (message !== 'gc') return;
  collectGarbage?.();
  process.send?.({ gc: collectGarbage !== undefined, ...process.memoryUsage() });
});
// The channel must not keep the server alive on its own.
process.channel?.unref();
export {};

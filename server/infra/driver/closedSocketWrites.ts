import { createRequire } from 'node:module';
import mongoose from 'mongoose';

/**
 * A fix for a hang in the MongoDB driver (mongodb 7.8.x, which mongoose 9.12.1 requires as
 * ~7.8; 7.9.0, the newest, has the same code): a command written to a connection whose socket
 * Node has already destroyed waits forever, and when that command is the server monitor's
 * heartbeat, the driver never sees the database come back after an outage.
 *
 * Why it hangs. `Connection.writeCommand` (mongodb/lib/cmap/connection.js) does
 *
 *     if (this.socket.write(buffer)) return;
 *     await once(this.socket, 'drain');   // rejects on 'error' only
 *
 * and treats `false` as back-pressure. But Node's `socket.write()` on a socket that is already
 * destroyed also returns `false`, and then emits neither 'drain' nor 'error' (the stream is
 * destroyed, so the ERR_STREAM_DESTROYED / EPIPE error goes to the write callback only), and
 * `socket.setTimeout()`, which is how socketTimeoutMS and the monitor's connectTimeoutMS are
 * applied, is ignored on a destroyed socket. Nothing ever settles the wait.
 *
 * How a heartbeat gets there. When the database shuts down it closes every connection with a
 * FIN. Node ends the socket's writable side in reply and, that done, destroys it; its 'close'
 * event, which is what sets the driver's `connection.closed`, comes a little later (the handle
 * closes asynchronously). FerretDB sends no `topologyVersion` in its hello, so the driver's
 * monitor polls (serverMonitoringMode 'stream' cannot apply) over one long-lived connection, and
 * `monitor.reset()` (which would discard that connection on a pool error) returns early without
 * a topologyVersion. The same shutdown fails the pool's connections; the failed operation marks
 * the server Unknown, the next operations wait for a server, and that asks the monitor for an
 * immediate check, often within that window: the check finds its connection `!closed`, sends
 * hello on the destroyed socket and waits forever. The monitor's check never ends, so every
 * later check request is a no-op, the server stays Unknown, and every call fails server
 * selection (503) until the process restarts. The soak's outage phase hit this in about 4 of 10
 * database restarts. Pool connections can hit the same window (a call then hangs instead of
 * failing).
 *
 * No driver option avoids it: the monitor polls already, heartbeat and socket timeouts are
 * socket timeouts (ignored on a destroyed socket), and CSOT (timeoutMS) does not cover
 * monitoring.
 *
 * The fix. Wrap `Connection.prototype.writeCommand` so that a write fails with a
 * MongoNetworkError when the socket is already destroyed (or the connection closed), and when the
 * socket closes while the write waits for 'drain'. A network error is what the driver expects
 * from a dead connection: the monitor's heartbeat fails, it drops the connection and reconnects
 * on its next check (as it does when the database refuses a connection); an operation's
 * connection is discarded and the pool cleared. Nothing else changes: a write on a live socket
 * behaves as before.
 *
 * It patches a driver internal, on purpose and narrowly: install() checks that the class it
 * patches is the one mongoose's driver uses and has the shape it expects, and throws otherwise, so
 * a driver upgrade that moves it fails loudly (closedSocketWrites.test.ts) instead of silently
 * bringing the hang back. Remove it once the driver checks for a destroyed socket itself.
 */

interface DriverSocket {
  destroyed: boolean;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}
/** The parts of the driver's (internal) Connection this fix touches. */
export interface DriverConnection {
  id: unknown;
  address: string;
  closed: boolean;
  socket: DriverSocket;
}
type WriteCommand = (this: DriverConnection, command: unknown, options: unknown) => Promise<void>;
interface ConnectionClass {
  prototype: { writeCommand: WriteCommand };
}

const FIXED = Symbol.for('wx-login-backend.closedSocketWriteFix');

let original: WriteCommand | undefined;

/** The driver's Connection class, from the same module instance mongoose uses. */
export function driverConnectionClass(): ConnectionClass {
  const fromHere = createRequire(import.meta.url);
  const fromMongoose = createRequire(fromHere.resolve('mongoose'));
  if (fromMongoose('mongodb') !== mongoose.mongo) {
    throw new Error('closedSocketWrites: mongodb resolved from mongoose is not the driver mongoose uses');
  }
  return fromMongoose('mongodb/lib/cmap/connection.js').Connection as ConnectionClass;
}

/** Installs the fix (idempotent). Throws if the driver does not look as this fix expects. */
export function installClosedSocketWriteFix(): void {
  const Connection = driverConnectionClass();
  const proto = Connection?.prototype as ConnectionClass['prototype'] & { [FIXED]?: WriteCommand };
  if (proto?.[FIXED]) return;
  if (typeof proto?.writeCommand !== 'function') {
    throw new Error(
      'closedSocketWrites: the MongoDB driver has no Connection.prototype.writeCommand; it changed, ' +
        'check whether it still waits for "drain" on a destroyed socket (see server/infra/driver/closedSocketWrites.ts)',
    );
  }
  const writeCommand = proto.writeCommand;
  original = writeCommand;
  const { MongoNetworkError } = mongoose.mongo;
  // Worded apart from the driver's own "connection N to ADDRESS closed", so that logs and the
  // soak's driver trace show when this fix is what ended a write.
  const closedError = (c: DriverConnection, when: string) =>
    new MongoNetworkError(`connection ${String(c.id)} to ${c.address} closed ${when} (socket destroyed; not waiting for 'drain')`);

  proto.writeCommand = function (this: DriverConnection, command: unknown, options: unknown): Promise<void> {
    const socket = this.socket;
    // Destroyed but its 'close' not emitted yet (so `closed` is still false): the window above.
    if (this.closed || socket.destroyed) return Promise.reject(closedError(this, 'before the write'));
    // Any later destroy is followed by 'close': stop waiting for a 'drain' that cannot come.
    let onClose!: () => void;
    const closed = new Promise<never>((_, reject) => {
      onClose = () => reject(closedError(this, 'during the write'));
    });
    socket.once('close', onClose);
    return Promise.race([writeCommand.call(this, command, options), closed]).finally(() => socket.off('close', onClose));
  };
  proto[FIXED] = writeCommand;
}

/** The driver's own writeCommand, for the test that shows the hang. */
export function unfixedWriteCommand(): WriteCommand {
  installClosedSocketWriteFix();
  return original ?? (driverConnectionClass().prototype as { [FIXED]?: WriteCommand })[FIXED]!;
}

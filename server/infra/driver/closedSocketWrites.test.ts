// The MongoDB driver hang that closedSocketWrites.ts fixes, on the driver's own Connection class
// over a real TCP socket: a command written in the moment after the peer's FIN made Node destroy
// the socket (before its 'close' event, so the driver still thinks the connection is open) waits
// forever for 'drain'; with the fix it fails with a network error, as a dead connection should.
import net from 'node:net';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverConnectionClass, installClosedSocketWriteFix, unfixedWriteCommand, type DriverConnection } from './closedSocketWrites';

type Settled = 'resolved' | 'rejected' | 'pending';
async function settledWithin(p: Promise<unknown>, ms: number): Promise<Settled> {
  const timer = new Promise<Settled>((resolve) => setTimeout(() => resolve('pending'), ms).unref());
  return Promise.race([p.then(() => 'resolved' as const, () => 'rejected' as const), timer]);
}

interface TestConnection extends DriverConnection {
  socket: net.Socket;
  writeCommand(command: unknown, options: unknown): Promise<void>;
  command(ns: { db: string; collection: string }, cmd: object, options: object): Promise<unknown>;
  destroy(): void;
}
/** A raw command for writeCommand: just bytes, no BSON. */
const rawCommand = (bytes: number) => ({ toBin: () => [Buffer.alloc(bytes)] });
const NONE = { agreedCompressor: 'none' };

describe('closedSocketWrites: writes on a closed socket fail instead of waiting for drain', () => {
  // Connections to this server are ended (FIN) at once, as a database that shuts down does;
  // `hold` keeps them open and never reads.
  let server: net.Server;
  let port = 0;
  let mode: 'fin' | 'hold' = 'fin';
  const held: net.Socket[] = [];

  beforeAll(async () => {
    installClosedSocketWriteFix();
    server = net.createServer((s) => {
      if (mode === 'fin') s.end();
      else {
        s.pause();
        held.push(s);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of held) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** A driver Connection on a fresh socket to the test server. */
  async function driverConnection(): Promise<TestConnection> {
    const socket = net.createConnection({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const Connection = driverConnectionClass() as unknown as new (socket: net.Socket, options: object) => TestConnection;
    return new Connection(socket, { id: 'test', generation: 0 });
  }

  /** Runs `write` in the window the soak found: right after Node destroyed the socket after the peer's FIN. */
  async function inTheWindowAfterFin(c: TestConnection, write: () => Promise<unknown>): Promise<{ write: Promise<unknown>; closedAtWrite: boolean }> {
    return new Promise((resolve) => {
      const destroy = c.socket.destroy;
      c.socket.destroy = function (this: net.Socket, ...args: Parameters<net.Socket['destroy']>) {
        const result = destroy.apply(this, args);
        c.socket.destroy = destroy;
        // Destroyed by Node, but 'close' (which sets the driver's `closed`) has not been emitted.
        resolve({ write: write(), closedAtWrite: c.closed });
        return result;
      };
    });
  }

  it('the driver (unfixed) waits forever on such a write; the socket closes and nothing settles it', async () => {
    mode = 'fin';
    const c = await driverConnection();
    const { write, closedAtWrite } = await inTheWindowAfterFin(c, () => unfixedWriteCommand().call(c, rawCommand(64), NONE));
    expect(closedAtWrite).toBe(false);
    expect(c.socket.destroyed).toBe(true);
    expect(await settledWithin(write, 500)).toBe('pending');
    // The connection did notice the close; the write still waits for a 'drain' that cannot come.
    expect(c.closed).toBe(true);
    expect(c.socket.listenerCount('drain')).toBe(1);
  });

  it('with the fix, a hello (as the monitor sends) in that window fails with a network error', async () => {
    mode = 'fin';
    const c = await driverConnection();
    const { write, closedAtWrite } = await inTheWindowAfterFin(c, () => c.command({ db: 'admin', collection: '$cmd' }, { hello: 1 }, {}));
    expect(closedAtWrite).toBe(false);
    await expect(write).rejects.toBeInstanceOf(mongoose.mongo.MongoNetworkError);
    await expect(write).rejects.toThrow(/closed/);
  });

  it('with the fix, a write waiting for drain fails when the socket is destroyed (no error event)', async () => {
    mode = 'hold';
    const c = await driverConnection();
    // The server does not read: a large write fills the socket buffers and waits for 'drain'.
    const write = c.writeCommand(rawCommand(64 << 20), NONE);
    expect(await settledWithin(write, 200)).toBe('pending');
    expect(c.socket.listenerCount('drain')).toBe(1);
    c.destroy(); // as the pool or monitor does: socket.destroy() without an error
    await expect(write).rejects.toBeInstanceOf(mongoose.mongo.MongoNetworkError);
    // Nothing left listening on the socket.
    expect(c.socket.listenerCount('close')).toBe(1); // the driver's own
  });

  it('with the fix, writes on a live socket are unchanged', async () => {
    mode = 'hold';
    const c = await driverConnection();
    await expect(c.writeCommand(rawCommand(64), NONE)).resolves.toBeUndefined();
    expect(c.socket.listenerCount('close')).toBe(1);
    c.destroy();
  });

  it('installing twice wraps once', () => {
    const proto = driverConnectionClass().prototype;
    const before = proto.writeCommand;
    installClosedSocketWriteFix();
    expect(proto.writeCommand).toBe(before);
    expect(unfixedWriteCommand()).not.toBe(before);
  });
});

/**
 * Diagnosis only, loaded into the soak's server child (never into a deployment); it changes
 * nothing unless asked:
 *
 * SOAK_DRIVER_TRACE=events   every mongoose connection's driver events (server description
 *                            changes, pool clears, topology close) on stderr, and the state of
 *                            the server monitor when a heartbeat has been pending for 5 s
 * SOAK_DRIVER_TRACE=verbose  the same plus every heartbeat
 *
 * The STUCK line is how the driver hang that server/infra/driver/closedSocketWrites.ts fixes was found (a
 * heartbeat waiting for 'drain' on a destroyed socket); it should no longer appear.
 */
import mongoose from 'mongoose';

const trace = process.env.SOAK_DRIVER_TRACE;
const started = Date.now();
const say = (line: string) => process.stderr.write(`[driver +${((Date.now() - started) / 1000).toFixed(2)} s] ${line}\n`);
const short = (e: unknown) => (e ? String(e).slice(0, 160) : '');

interface Socket {
  destroyed: boolean;
  writableEnded: boolean;
  readableEnded: boolean;
  errored: unknown;
  listenerCount(event: string): number;
}
interface DriverConnection {
  closed: boolean;
  error?: Error | null;
  dataEvents: unknown;
  socket: Socket;
}
interface Monitor {
  s: { state: string };
  connection: DriverConnection | null;
}

if (trace === 'events' || trace === 'verbose') {
  const original = mongoose.createConnection.bind(mongoose);
  (mongoose as { createConnection: unknown }).createConnection = (...args: Parameters<typeof original>) => {
    const connection = original(...args);
    for (const event of ['disconnected', 'reconnected', 'close', 'error']) {
      connection.on(event, (x: unknown) => say(`mongoose ${event} ${short(x)}`));
    }
    connection.once('connected', () => {
      const client = connection.getClient();
      client.on('serverDescriptionChanged', (e) => {
        if (e.previousDescription.type !== e.newDescription.type) say(`server ${e.previousDescription.type} -> ${e.newDescription.type} ${short(e.newDescription.error)}`);
      });
      client.on('connectionPoolCleared', () => say('pool cleared'));
      client.on('topologyClosed', () => say('topology closed'));

      let pendingSince = 0;
      let reported = false;
      client.on('serverHeartbeatStarted', (e) => {
        pendingSince = e.awaited ? 0 : Date.now();
        if (trace === 'verbose') say(`heartbeat started awaited=${e.awaited}`);
      });
      client.on('serverHeartbeatFailed', (e) => {
        pendingSince = 0;
        // A heartbeat that server/infra/driver/closedSocketWrites.ts ended: without it, a STUCK line below.
        const fixed = String(e.failure).includes("not waiting for 'drain'");
        if (trace === 'verbose' || fixed) say(`heartbeat failed after ${e.duration} ms: ${short(e.failure)}`);
      });
      client.on('serverHeartbeatSucceeded', (e) => {
        pendingSince = 0;
        if (trace === 'verbose') say(`heartbeat ok ${e.duration} ms`);
      });
      // A polling heartbeat pending for 5 s: show the monitor's connection and socket (once).
      setInterval(() => {
        if (!pendingSince || reported || Date.now() - pendingSince < 5000) return;
        reported = true;
        const servers = (client as unknown as { topology: { s: { servers: Map<string, { description: { type: string }; monitor?: Monitor }> } } }).topology.s.servers;
        for (const [address, server] of servers) {
          const c = server.monitor?.connection;
          const k = c?.socket;
          say(
            `STUCK: heartbeat pending for ${((Date.now() - pendingSince) / 1000).toFixed(1)} s; ${address} ${server.description.type}, monitor ${server.monitor?.s.state}, ` +
              (c ? `its connection closed=${c.closed} (${short(c.error)}) reading=${c.dataEvents != null}, ` : 'no connection, ') +
              (k
                ? `socket destroyed=${k.destroyed} writableEnded=${k.writableEnded} readableEnded=${k.readableEnded} errored=${short(k.errored) || 'no'} ` +
                  `waiting for 'drain': ${k.listenerCount('drain') > 0}`
                : ''),
          );
        }
      }, 1000).unref();
    });
    return connection;
  };
}

import { mongo } from 'mongoose';


/**
 * Group commit for one collection: inserts asked for while a batch is being written go into the
 * next batch, one insertMany for all of them. Each caller still waits until its own document is
 * acknowledged (or fails with the error that concerns it), so nothing is answered before it is
 * stored; under load, one database round trip serves many requests instead of one each. With the
 * embedded database that is the difference between ~0.6 ms and ~0.1 ms of database CPU per insert.
 *
 * Documents go to the driver as they are (no mongoose casting or defaults): build them complete.
 */
export interface InsertBatcher<T extends object> {
  insert(doc: T): Promise<void>;
}

interface Pending<T> {
  doc: T;
  resolve(): void;
  reject(err: unknown): void;
}

export function createInsertBatcher<T extends object>(collection: () => mongo.Collection, opts: { maxBatch?: number } = {}): InsertBatcher<T> {
  const maxBatch = opts.maxBatch ?? 500;
  let queue: Pending<T>[] = [];
  // True from the moment a write is scheduled until the queue is empty.
  let writing = false;

  async function writeBatches() {
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      try {
        await collection().insertMany(batch.map((p) => p.doc as mongo.Document), { ordered: false });
        for (const p of batch) p.resolve();
      } catch (err) {
        // Unordered: every document without a write error of its own was inserted.
        const failed = new Map<number, unknown>();
        if (err instanceof mongo.MongoBulkWriteError && !err.writeConcernError) {
          const writeErrors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
          // Each failed document's caller gets its own write error (its code: a duplicate key ...).
          for (const e of writeErrors) failed.set(e.index, e);
        }
        const whole = wholeBatchError(err);
        for (const [i, p] of batch.entries()) {
          if (failed.size === 0 || failed.has(i)) p.reject(failed.get(i) ?? whole);
          else p.resolve();
        }
      }
    }
    writing = false;
  }

  return {
    insert(doc) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ doc, resolve, reject });
        // The first insert of a quiet moment is written at the end of this turn of the event loop
        // (setImmediate), with every other request this turn read from its socket; later ones
        // wait for the batch in flight and go together in the next.
        if (!writing) {
          writing = true;
          setImmediate(() => void writeBatches());
        }
      });
    },
  };
}

/**
 * The driver's insertMany is a bulk write: a network error, a closed pool or a failed server
 * selection comes wrapped in a MongoBulkWriteError (the original in `errorResponse`). Callers get
 * the original, as a single insert would have given them, so that an outage is recognised as one.
 */
function wholeBatchError(err: unknown): unknown {
  if (err instanceof mongo.MongoBulkWriteError && err.errorResponse instanceof Error) return err.errorResponse;
  return err;
}

/** Names in Redis shared by coordinator, workers and `zennas workers`. */
import { ZennasError } from '../errors';

/** The queue of scoring jobs when `--queue` is not given. */
export const DEFAULT_QUEUE = 'zennas';

/** A queue name: BullMQ refuses ':' (its key separator); zennas keeps names short and plain. */
export function checkQueueName(name: string, flag = '--queue'): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
    throw new ZennasError('E_OPTION', `${flag} must be 1–64 letters, digits, '_', '.' or '-', got ${JSON.stringify(name)}`);
  }
  return name;
}

/** Key of one live worker's registry hash (expires unless its heartbeat refreshes it). */
export function workerKey(queue: string, id: string): string {
  return `zennas:${queue}:worker:${id}`;
}

/** SCAN pattern of every worker of a queue. */
export function workerPattern(queue: string): string {
  return `zennas:${queue}:worker:*`;
}

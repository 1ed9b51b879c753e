// Turns a listener that cannot bind (EADDRINUSE, EACCES, …) into one line naming the address and its config key.
import { BrokerError, ErrorCode } from '../errors.js';

const WHY: Record<string, string> = {
  EADDRINUSE: 'address already in use (another process listens there: stop it or choose another port)',
  EACCES: 'permission denied (ports below 1024 need privileges: choose a port above 1023)',
  EADDRNOTAVAIL: 'address not available on this machine (check the host part)',
  ENOTFOUND: 'host name does not resolve',
  EAI_AGAIN: 'host name does not resolve',
};

export async function listenFailure<T>(key: string, address: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (e instanceof BrokerError) throw e;
    const why = WHY[code] ?? (e as Error).message;
    throw new BrokerError(ErrorCode.CONFIG_INVALID, `cannot listen on ${address} (${key}): ${why}`);
  }
}

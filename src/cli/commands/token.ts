// `dbwarden token new`: a fresh admin API token and the sha256 that goes into the config.
import { createHash, randomBytes } from 'node:crypto';
import { printJson, type Command } from '../command.js';
import { formatFields } from '../table.js';

/** 256 random bits: guessing is hopeless, and only the hash is ever stored by the broker. */
export function newToken(): { token: string; tokenSha256: string } {
  const token = 'dbw_' + randomBytes(32).toString('base64url');
  return { token, tokenSha256: createHash('sha256').update(token, 'utf8').digest('hex') };
}

export const tokenNewCommand: Command = {
  name: 'token new',
  arity: [0, 0],
  async run(ctx) {
    const t = newToken();
    if (ctx.json) printJson(ctx, t);
    else {
      ctx.out(formatFields([['token', t.token], ['tokenSha256', t.tokenSha256]]));
      ctx.out('\nput tokenSha256 under identities.<name>.tokenSha256 in dbwarden.yaml and give the token to its owner;\nit is not stored anywhere and cannot be shown again.\n');
    }
    return 0;
  },
};

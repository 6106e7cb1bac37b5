/**
 * A Lua script run by EVALSHA, falling back to EVAL when Redis does not know
 * it (first use, or after a restart or SCRIPT FLUSH): the script text is sent
 * once per Redis lifetime rather than on every call.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export class RedisScript {
  readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(client: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
      return client.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

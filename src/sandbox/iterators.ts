/**
 * Server-side list iterators behind `offset` values (`itr<14>/rec<14>`). An iterator is the ordered id
 * snapshot of the query that created it; a page continues after the offset's record in that snapshot, so
 * records deleted mid-iteration are simply skipped. Iterators expire after `ttlMs` of inactivity.
 */
import { ID_BODY } from '../airtable/ids.js';
import { invalidOffset, iteratorExpired } from './errors.js';
import { newId } from './ids.js';

interface IteratorState {
  fingerprint: string;
  ids: string[];
  expiresAt: number;
}

const OFFSET = new RegExp(`^(itr${ID_BODY})/(rec${ID_BODY})$`);
/** Past this many live or expired iterators the oldest are forgotten (their offsets then read as invalid). */
const MAX_ITERATORS = 1000;

export class IteratorStore {
  private readonly map = new Map<string, IteratorState>();

  constructor(private readonly ttlMs: number) {}

  /** Stores a snapshot and returns the iterator id. */
  create(fingerprint: string, ids: string[], now: number): string {
    const id = newId('itr');
    this.map.set(id, { fingerprint, ids, expiresAt: now + this.ttlMs });
    while (this.map.size > MAX_ITERATORS) this.map.delete(this.map.keys().next().value!);
    return id;
  }

  /** The snapshot and start position an offset points at; 422 when unknown, foreign or expired. */
  resume(offset: string, fingerprint: string, now: number): { itrId: string; ids: string[]; start: number } {
    const m = OFFSET.exec(offset);
    const state = m ? this.map.get(m[1]!) : undefined;
    if (!m || !state) throw invalidOffset(offset);
    if (state.expiresAt <= now) {
      this.map.delete(m[1]!);
      throw iteratorExpired();
    }
    const at = state.fingerprint === fingerprint ? state.ids.indexOf(m[2]!) : -1;
    if (at < 0) throw invalidOffset(offset);
    state.expiresAt = now + this.ttlMs;
    return { itrId: m[1]!, ids: state.ids, start: at + 1 };
  }

  clear(): void {
    this.map.clear();
  }
}

/** The sandbox's one user (the token owner) and collaborator normalisation. */
import { createHash } from 'node:crypto';

export interface Collaborator {
  id: string;
  email?: string;
  name?: string;
}

export const SANDBOX_USER: Required<Collaborator> = {
  id: 'usrSandboxUser001',
  email: 'demo@sandbox.local',
  name: 'Sandbox User',
};

const ALPHANUM = /[^0-9A-Za-z]/g;

/** A stable user id for an email nobody registered: the same email always maps to the same id. */
function idForEmail(email: string): string {
  const digest = createHash('sha256').update(email.toLowerCase()).digest('base64').replace(ALPHANUM, '');
  return `usr${digest.slice(0, 14)}`;
}

/** Collaborator from a write (`{id}` or `{email}`); undefined when neither is a usable string. */
export function toCollaborator(input: unknown): Collaborator | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
  const { id, email } = input as { id?: unknown; email?: unknown };
  if (id === SANDBOX_USER.id || email === SANDBOX_USER.email) return { ...SANDBOX_USER };
  if (typeof id === 'string' && id.startsWith('usr')) {
    return typeof email === 'string' ? { id, email } : { id };
  }
  if (typeof email === 'string' && email.includes('@')) return { id: idForEmail(email), email };
  return undefined;
}

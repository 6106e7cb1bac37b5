import { send } from './api';

export interface Base {
  id: string;
  name: string;
}

/** The bases this person may use: the list_bases tool already filters by their permissions. */
export async function loadBases(signal?: AbortSignal): Promise<Base[]> {
  const answer = await send<{ result?: unknown; is_error?: boolean }>(
    'POST',
    '/execute-tool',
    { tool_name: 'list_bases', arguments: {} },
    { signal },
  );
  const result = answer.result as { bases?: Base[]; structuredContent?: { bases?: Base[] } } | undefined;
  return result?.bases ?? result?.structuredContent?.bases ?? [];
}

/** The scopes a key may carry (src/app/principal.ts). */
export const SCOPES = [
  { value: 'tools:read', label: 'tools:read — read tools only' },
  { value: 'tools:write', label: 'tools:write — every tool' },
  { value: 'chat', label: 'chat — the assistant' },
  { value: 'workflows', label: 'workflows — run workflows' },
  { value: 'admin', label: 'admin — manage users' },
] as const;

/**
 * What a tool's kind means for clients, in a file of its own: the MCP server
 * lists tools from it before the tools' code is loaded.
 */
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';

/** read: never changes data. write: adds or changes data. destructive: may remove or overwrite data. */
export type ToolKind = 'read' | 'write' | 'destructive';

type KindOf = { kind: ToolKind; idempotent?: boolean };

/**
 * The hints are set explicitly on every tool: clients use them for confirmation prompts. The title
 * is not repeated here: tools/list carries it as the tool's own `title`, which clients show first.
 */
export function annotationsFor(spec: KindOf): ToolAnnotations {
  const readOnly = spec.kind === 'read';
  return {
    readOnlyHint: readOnly,
    destructiveHint: spec.kind === 'destructive',
    idempotentHint: readOnly || spec.idempotent === true,
    // Every tool talks to Airtable, an external system whose contents change.
    openWorldHint: true,
  };
}

export function isWriteTool(spec: Pick<KindOf, 'kind'>): boolean {
  return spec.kind !== 'read';
}

/**
 * Tools come in toolsets (as in github-mcp-server): the default ones cover
 * the original system's 14 tools plus list_bases and get_record; the opt-in
 * ones add bulk, schema-editing and comment tools.
 */
export const TOOLSETS = {
  records: 'Read, search and write records (default)',
  schema: 'Bases, tables, fields, and the metadata table (default)',
  analysis: 'Statistics, duplicates, CSV export and table sync (default)',
  bulk: 'Upsert and batch delete (opt-in)',
  schema_edit: 'Create and update tables and fields (opt-in)',
  comments: 'List and create record comments (opt-in)',
  automation:
    'Workflows and sagas: apply_changes, run_workflow, import_file… (opt-in; needs the saga module, hosted mode)',
} as const;

export type ToolsetName = keyof typeof TOOLSETS;

export const DEFAULT_TOOLSETS: readonly ToolsetName[] = ['records', 'schema', 'analysis'];

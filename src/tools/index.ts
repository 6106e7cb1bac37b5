/**
 * Every tool, in the order tools/list reports them (grouped by toolset).
 * Which of them a server registers depends on toolsets and read-only mode.
 */
import { analyzeTableData } from './analyze-table-data.js';
import { batchCreateRecords } from './batch-create-records.js';
import { batchUpdateRecords } from './batch-update-records.js';
import { createComment } from './create-comment.js';
import { createField } from './create-field.js';
import { createMetadataTable } from './create-metadata-table.js';
import { createRecord } from './create-record.js';
import { createTable } from './create-table.js';
import type { DefinedTool } from './define.js';
import { deleteRecord } from './delete-record.js';
import { deleteRecords } from './delete-records.js';
import { exportTableCsv } from './export-table-csv.js';
import { findDuplicates } from './find-duplicates.js';
import { getFieldInfo } from './get-field-info.js';
import { getRecord } from './get-record.js';
import { getRecords } from './get-records.js';
import { listBases } from './list-bases.js';
import { listComments } from './list-comments.js';
import { listTables } from './list-tables.js';
import { searchRecords } from './search-records.js';
import { syncTables } from './sync-tables.js';
import { updateField } from './update-field.js';
import { updateRecord } from './update-record.js';
import { updateTable } from './update-table.js';
import { upsertRecords } from './upsert-records.js';

export const ALL_TOOLS = [
  // records
  getRecords,
  getRecord,
  searchRecords,
  createRecord,
  updateRecord,
  deleteRecord,
  batchCreateRecords,
  batchUpdateRecords,
  // schema
  listBases,
  listTables,
  getFieldInfo,
  createMetadataTable,
  // analysis
  analyzeTableData,
  findDuplicates,
  exportTableCsv,
  syncTables,
  // bulk (opt-in)
  upsertRecords,
  deleteRecords,
  // schema_edit (opt-in)
  createTable,
  updateTable,
  createField,
  updateField,
  // comments (opt-in)
  listComments,
  createComment,
] as unknown as readonly DefinedTool[];

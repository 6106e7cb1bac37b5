/** Wire types of the Airtable Web API, as the client returns them. */

export type Fields = Record<string, unknown>;

export interface AirtableRecord {
  id: string;
  createdTime: string;
  fields: Fields;
  commentCount?: number;
}

export interface SortSpec {
  field: string;
  direction?: 'asc' | 'desc';
}

export interface ListRecordsParams {
  fields?: string[];
  filterByFormula?: string;
  /** Cap on records across all pages. */
  maxRecords?: number;
  /** Records per request, 1..100 (default 100). */
  pageSize?: number;
  sort?: SortSpec[];
  view?: string;
  cellFormat?: 'json' | 'string';
  timeZone?: string;
  userLocale?: string;
  returnFieldsByFieldId?: boolean;
  /** Continue from a previous call's `offset`. */
  offset?: string;
}

export interface RecordPage {
  records: AirtableRecord[];
  /** Present when more records remain. */
  offset?: string;
}

export interface BaseInfo {
  id: string;
  name: string;
  permissionLevel: string;
}

export interface FieldSchema {
  id: string;
  name: string;
  type: string;
  description?: string;
  options?: Record<string, unknown>;
}

export interface ViewSchema {
  id: string;
  name: string;
  type: string;
  visibleFieldIds?: string[];
}

export interface TableSchema {
  id: string;
  name: string;
  description?: string;
  primaryFieldId: string;
  fields: FieldSchema[];
  views: ViewSchema[];
}

export interface NewFieldSpec {
  name: string;
  type: string;
  description?: string;
  options?: Record<string, unknown>;
}

export interface Comment {
  id: string;
  author: { id: string; email?: string; name?: string };
  text: string;
  createdTime: string;
  lastUpdatedTime: string | null;
  parentCommentId?: string;
  mentioned?: Record<string, unknown>;
}

export interface CommentPage {
  comments: Comment[];
  offset: string | null;
}

export interface DeletedRecord {
  id: string;
  deleted: true;
  /**
   * Set (only) when Airtable did not confirm this deletion itself: an earlier attempt's answer was lost
   * (connection reset, timeout, 504) and the resend found the record no longer in the table. Almost
   * always that lost attempt deleted it; the record may also have been deleted by someone else or, for
   * a single id, never have existed. Either way it is not in the table now.
   */
  alreadyDeleted?: true;
}

/**
 * The API documents the dashboard reads: the server's own types (src/app/documents.ts, types only),
 * so the browser code and the API cannot drift apart unnoticed.
 */
import type { ComplianceRecordView, ComplianceStatus } from '../../app/documents';
import type { Definitions } from '../../domain/definitions';

export type {
  AgreementPageDoc,
  CiListDoc,
  CiStripsDoc,
  OverviewDoc,
  SeriesDoc,
  SessionDoc as Session,
  SyncStatus as SyncDoc,
  TicketDoc,
  TicketListDoc,
  TimelineDoc,
} from '../../app/documents';

export type Status = ComplianceStatus;
export type RecordView = ComplianceRecordView;

/** `GET /v1/definitions`. */
export interface DefinitionsDoc {
  version: number;
  definitions: Definitions;
}

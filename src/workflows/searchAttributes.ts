/**
 * Search attributes that make tickets findable in the Temporal UI. Registered by the dev-server
 * launcher (`--search-attribute`) and by `registerSearchAttributes` against a real cluster.
 */
import { defineSearchAttributeKey } from '@temporalio/common';

export const SA = {
  ticketId: defineSearchAttributeKey('SlmTicketId', 'KEYWORD'),
  ticketState: defineSearchAttributeKey('SlmTicketState', 'KEYWORD'),
  priority: defineSearchAttributeKey('SlmPriority', 'INT'),
  breached: defineSearchAttributeKey('SlmBreached', 'BOOL'),
  nextDue: defineSearchAttributeKey('SlmNextDue', 'DATETIME'),
  problemId: defineSearchAttributeKey('SlmProblemId', 'KEYWORD'),
  incidentNumber: defineSearchAttributeKey('SlmIncidentNumber', 'KEYWORD'),
  /** Every measurement as `<serviceTargetId>:<status>` plus the bare statuses, e.g. `MissedGoal`. */
  statuses: defineSearchAttributeKey('SlmStatuses', 'KEYWORD_LIST'),
  /** CI runs (DESIGN §4.7): the CI, its headline state (the worst of its open measurements) and whether it is down. */
  ciId: defineSearchAttributeKey('SlmCiId', 'KEYWORD'),
  ciState: defineSearchAttributeKey('SlmCiState', 'KEYWORD'),
  down: defineSearchAttributeKey('SlmDown', 'BOOL'),
  /** The compliance run (DESIGN §4.8): agreements whose open records are Breached, and At Risk. */
  breachedAgreements: defineSearchAttributeKey('SlmBreachedAgreements', 'KEYWORD_LIST'),
  atRiskAgreements: defineSearchAttributeKey('SlmAtRiskAgreements', 'KEYWORD_LIST'),
} as const;

/** Name → CLI type, as `temporal server start-dev --search-attribute Name=Type` wants them. */
export const SEARCH_ATTRIBUTE_TYPES: Record<string, 'Keyword' | 'Int' | 'Bool' | 'Datetime' | 'KeywordList'> = {
  SlmTicketId: 'Keyword',
  SlmTicketState: 'Keyword',
  SlmPriority: 'Int',
  SlmBreached: 'Bool',
  SlmNextDue: 'Datetime',
  SlmProblemId: 'Keyword',
  SlmIncidentNumber: 'Keyword',
  SlmStatuses: 'KeywordList',
  SlmCiId: 'Keyword',
  SlmCiState: 'Keyword',
  SlmDown: 'Bool',
  SlmBreachedAgreements: 'KeywordList',
  SlmAtRiskAgreements: 'KeywordList',
};

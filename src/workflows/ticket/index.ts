export { ticketWorkflow } from './workflow';
export type { TicketWorkflowInput, CarriedState } from './types';

/** The workflows the `slm` worker registers. */
export { ticketWorkflow } from './ticket';
export { echoAtWorkflow, echoWorkflow, shapeWorkflow } from './echo';
export { problemSyncWorkflow } from './problemSync';
export { ciWorkflow } from './ci/workflow';
export { complianceWorkflow } from './compliance';

// Every page of the dashboard, and the order of the navigation. A page is
// {title, roles, parent?, render(ctx, root, {id, hash})}: roles are 'server', 'owner', 'user', 'executor'.
import { overview } from './overview.js';
import { colonies } from './colonies.js';
import { executors } from './executors.js';
import { processes, process } from './processes.js';
import { workflows, workflow } from './workflows.js';
import { submit } from './submit.js';
import { crons, generators } from './schedules.js';
import { functions, users, logs } from './colony.js';

export const PAGES = {
  overview, colonies, executors, processes, process, workflows, workflow, submit, crons, generators, functions,
  users, logs,
};

/** The navigation, in order; a role sees the pages whose roles include it. */
export const NAV = [
  'overview', 'colonies', 'processes', 'workflows', 'executors', 'submit', 'crons', 'generators', 'functions',
  'users', 'logs',
];

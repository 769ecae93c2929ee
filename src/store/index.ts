export { Store, Collection } from './db.js';
export type { Allocation } from './db.js';

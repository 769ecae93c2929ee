export { createApiServer, createTlsApiServer, listenTcp, listenUnix } from './server.js';
export { Router } from './router.js';
export type { RequestContext, Handler } from './router.js';
export { networkRoutes } from './handlers/networks.js';
export { systemRoutes, ENGINE_VERSION } from './handlers/system.js';
export { API_VERSION, MIN_API_VERSION, splitVersion } from './version.js';
export { writeError, statusOf } from './http-status.js';
export { sendJson, sendEmpty, readJson, requireJson, queryBool } from './body.js';

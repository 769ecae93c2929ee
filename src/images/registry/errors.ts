/**
 * Registry failures as redes error kinds: a refused login is 401 in dockerd (`unauthorized`); we
 * map it to forbidden-kind errors with Docker's text so the CLI prints it unchanged.
 */
import { forbidden, type RedesError } from '../../util/index.js';

export const unauthorized = (message: string): RedesError => forbidden('registry.unauthorized', message);

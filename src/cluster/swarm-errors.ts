/**
 * Docker's texts for the swarm API, word for word (moby daemon/cluster), with the kind that gives
 * their HTTP status (503 for "not in a swarm"/"not a manager", as clients such as docker-py expect).
 */
import { RedesError, invalidParameter, notFound, notImplemented, unavailable } from '../util/index.js';

export const ERR_NOT_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
export const ERR_WORKER =
  "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";
export const ERR_NOT_IN_SWARM = 'This node is not part of a swarm';
export const ERR_ALREADY_IN_SWARM =
  'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.';
export const ERR_INVALID_TOKEN = 'invalid join token';
export const ERR_WRONG_SECRET = 'rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster';

export const notManager = (): RedesError => unavailable('swarm.not_manager', ERR_NOT_MANAGER);
export const workerNotManager = (): RedesError => unavailable('swarm.worker', ERR_WORKER);
export const notInSwarm = (): RedesError => unavailable('swarm.not_in_swarm', ERR_NOT_IN_SWARM);
export const alreadyInSwarm = (): RedesError => unavailable('swarm.already_in_swarm', ERR_ALREADY_IN_SWARM);
export const invalidToken = (): RedesError => invalidParameter('swarm.invalid_token', ERR_INVALID_TOKEN);
export const wrongSecret = (): RedesError => invalidParameter('swarm.wrong_secret', ERR_WRONG_SECRET);

export const caMismatch = (expectedHex: string): RedesError =>
  invalidParameter('swarm.ca_mismatch', `remote CA does not match fingerprint. Expected: ${expectedHex}`);

export const nodeNotFound = (ref: string): RedesError => notFound('swarm.node_not_found', `node ${ref} not found`);
export const nodeAmbiguous = (ref: string, n: number): RedesError =>
  invalidParameter('swarm.node_ambiguous', `node ${ref} is ambiguous (${n} matches found)`);
export const nodeNotDown = (id: string): RedesError =>
  invalidParameter('swarm.node_not_down', `rpc error: code = FailedPrecondition desc = node ${id} is not down and can't be removed`);
export const nodeIsManager = (id: string): RedesError =>
  invalidParameter(
    'swarm.node_manager',
    `rpc error: code = FailedPrecondition desc = node ${id} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`,
  );

const LEAVE_PREFIX = 'You are attempting to leave the swarm on a node that is participating as a manager. ';
const LEAVE_SUFFIX =
  'The only way to restore a swarm that has lost consensus is to reinitialize it with `--force-new-cluster`. Use `--force` to suppress this message.';

/** Docker's refusal of `swarm leave` without --force on a manager, given the managers reachable. */
export function managerLeaveRefused(reachable: number, unreachable: number): RedesError {
  let msg = LEAVE_PREFIX;
  if (reachable + unreachable <= 1) {
    msg += 'Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message. ';
    return unavailable('swarm.leave_manager', msg);
  }
  const total = reachable + unreachable;
  if (reachable - 1 <= total / 2) {
    msg += `Removing this node leaves ${reachable - 1} managers out of ${total}. Without a Raft quorum your swarm will be inaccessible. `;
  }
  return unavailable('swarm.leave_manager', msg + LEAVE_SUFFIX);
}

/** Services, tasks, stacks, secrets and configs: Docker's error shape with a clear refusal. */
export const swarmObjectsUnsupported = (what: string): RedesError =>
  notImplemented(
    'swarm.objects_unsupported',
    `${what} are not supported by redes: its swarm mode provides nodes and overlay networks only (run containers with "docker run --network <overlay>" on each node instead)`,
  );

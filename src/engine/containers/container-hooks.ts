/**
 * Extension points of the container lifecycle for network features that are not drivers: published
 * ports, the embedded DNS resolver, legacy links. Each feature implements the members it needs; the
 * controller calls every hook in registration order. A hook that throws during `validateCreate` or
 * `beforeStart` fails the request (and the controller undoes the start); the other members log and
 * go on, because the container's state has already changed.
 */
import type { ContainerRecord } from './container-types.js';

export interface EtcContributions {
  /** Lines added to /etc/hosts (after the container's own entries), e.g. legacy links. */
  hostsLines: string[];
  /** Replaces the generated /etc/resolv.conf when set (the embedded DNS server). */
  resolvConf?: string;
  /** Added to the process environment (legacy link variables). */
  env: string[];
  /** What `--add-host NAME:host-gateway` stands for (Docker: the default bridge's gateway). */
  hostGateway?: string[];
}

export interface ContainerHooks {
  readonly name: string;
  /** At create, after the engine's own checks: reject bad options (Docker's texts). May fill in `rec`. */
  validateCreate?(rec: ContainerRecord): void;
  /** At start, endpoints joined, before /etc files are written and the program runs. */
  beforeStart?(rec: ContainerRecord, etc: EtcContributions): Promise<void>;
  /** The program runs. */
  afterStart?(rec: ContainerRecord): Promise<void>;
  /** The program ended (or start failed after beforeStart), before endpoints are released. */
  beforeStop?(rec: ContainerRecord): Promise<void>;
  /** A running container joined or left a network (rec shows the new endpoints). */
  endpointsChanged?(rec: ContainerRecord): Promise<void>;
  /** The container was renamed (old name given). */
  renamed?(rec: ContainerRecord, oldName: string): Promise<void>;
  /** The container record is gone. */
  removed?(rec: ContainerRecord): Promise<void>;
  /** Daemon start, after running containers were re-adopted. */
  restore?(running: readonly ContainerRecord[]): Promise<void>;
}

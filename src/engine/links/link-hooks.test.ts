/**
 * The link hooks' parent update without a daemon: which running parents get their /etc/hosts
 * rewritten when a target starts with a new address (ones that started here, or that a restarted
 * daemon found running), and that a target's start does not list every container to find them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLinkHooks } from './link-hooks.js';
import type { ContainerRecord } from '../containers/container-types.js';
import { notFound } from '../../util/index.js';

function record(dir: string, id: string, name: string, ip: string, links: string[] = []): ContainerRecord {
  const hostsPath = join(dir, `${id}.hosts`);
  writeFileSync(hostsPath, '127.0.0.1\tlocalhost\n');
  return {
    id, name, networkMode: 'bridge', hostsPath,
    config: { Hostname: id.slice(0, 12), Env: [], ExposedPorts: {} },
    hostConfig: { Links: links.length ? links : null },
    state: { status: 'running' },
    endpoints: { bridge: { ipv4Address: ip, ipv6Address: '' } },
  } as unknown as ContainerRecord;
}

function setup(): { dir: string; byId: Map<string, ContainerRecord>; listed: () => number; hooks: ReturnType<typeof createLinkHooks> } {
  const dir = mkdtempSync(join(tmpdir(), 'redes-links-'));
  const byId = new Map<string, ContainerRecord>();
  let lists = 0;
  const hooks = createLinkHooks({
    containers: {
      resolve: (term) => {
        const r = byId.get(term) ?? [...byId.values()].find((c) => c.name === term);
        if (!r) throw notFound('container.not_found', `No such container: ${term}`);
        return r;
      },
      list: () => {
        lists++;
        return [...byId.values()];
      },
    },
    save: () => undefined,
  });
  return { dir, byId, listed: () => lists, hooks };
}

test('a target started again rewrites the hosts file of the running parents that started here or were restored, listing no containers', async () => {
  const { dir, byId, listed, hooks } = setup();
  try {
    const target = record(dir, 'a'.repeat(64), 'mover', '172.17.0.2');
    const started = record(dir, 'b'.repeat(64), 'started', '172.17.0.3', ['/mover:/started/m']);
    const restored = record(dir, 'c'.repeat(64), 'restored', '172.17.0.4', ['/mover:/restored/m']);
    const stopped = record(dir, 'd'.repeat(64), 'stopped', '172.17.0.5', ['/mover:/stopped/m']);
    for (const r of [target, started, restored, stopped]) byId.set(r.id, r);
    await hooks.restore?.([restored]);
    await hooks.beforeStart?.(started, { hostsLines: [], env: [], hostGateway: [] });
    await hooks.beforeStart?.(stopped, { hostsLines: [], env: [], hostGateway: [] });
    await hooks.beforeStop?.(stopped);
    target.endpoints.bridge = { ...target.endpoints.bridge, ipv4Address: '172.17.0.9' } as ContainerRecord['endpoints'][string];
    await hooks.afterStart?.(target);
    for (const p of [started, restored]) assert.match(readFileSync(p.hostsPath, 'utf8'), /^172\.17\.0\.9\tm a{12} mover$/m, p.name);
    assert.doesNotMatch(readFileSync(stopped.hostsPath, 'utf8'), /mover/, 'a stopped parent is left alone');
    assert.equal(listed(), 0, 'no container list');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
